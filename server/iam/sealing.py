"""Access key secrets at rest: sealed with Fernet (cryptography), opened only to verify.

SigV4 needs the secret itself, so it cannot be stored as a one-way hash; it is stored
encrypted under a master key that lives apart from the database: DATA_DIR/master.key
(mode 0600), or NBPRESIGN_MASTER_KEY for replicas that share one database. A copy of
the database alone does not reveal any secret.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MASTER_KEY_FILE = "master.key"
MASTER_KEY_ENV = "NBPRESIGN_MASTER_KEY"


class SealError(Exception):
    """A sealed secret that this master key did not seal."""


class SecretBox:
    def __init__(self, master_key: bytes) -> None:
        self._fernet = Fernet(master_key)
        self._master = base64.urlsafe_b64decode(master_key)  # Fernet checked it is 32 bytes

    def derive_key(self, purpose: str) -> bytes:
        """A 32-byte key for one purpose ("pagination"), the same on every replica that
        shares the master key, and telling nothing of it or of other purposes' keys (HKDF)."""
        info = f"nbpresign/{purpose}".encode()
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info)
        return hkdf.derive(self._master)

    def seal(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def open(self, sealed: bytes) -> str:
        try:
            return self._fernet.decrypt(sealed).decode()
        except InvalidToken:
            raise SealError("sealed under another master key") from None


def load_or_create_master_key(data_dir: Path) -> bytes:
    """DATA_DIR/master.key, created on first use (the SQLite default; service.master_key
    decides between it, NBPRESIGN_MASTER_KEY and the database)."""
    path = data_dir / MASTER_KEY_FILE
    if path.exists():
        return path.read_bytes().strip()
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key
