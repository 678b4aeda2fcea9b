"""The keys that sign AuthorizedUrl tokens.

Each key has a `kid`; tokens name the key that signed them, so a new key can take
over signing while the old one still verifies the tokens it signed. On first start a
key is generated with `secrets` and kept in DATA_DIR/signing-keys.json (mode 0600).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

KEY_FILE_NAME = "signing-keys.json"
KEY_BYTES = 32  # HS256: a key as long as the hash


@dataclass(frozen=True)
class KeyRing:
    active_kid: str
    keys: dict[str, bytes]

    @property
    def active_key(self) -> bytes:
        return self.keys[self.active_kid]

    def rotated(self) -> KeyRing:
        """A ring whose new key signs, keeping every old key for verification."""
        kid = _new_kid()
        return KeyRing(kid, {**self.keys, kid: secrets.token_bytes(KEY_BYTES)})


def _new_kid() -> str:
    return secrets.token_hex(8)


def new_key_ring() -> KeyRing:
    kid = _new_kid()
    return KeyRing(kid, {kid: secrets.token_bytes(KEY_BYTES)})


def load_or_create(data_dir: Path) -> KeyRing:
    path = data_dir / KEY_FILE_NAME
    if path.exists():
        return _decode(json.loads(path.read_text()))
    ring = new_key_ring()
    save(path, ring)
    return ring


def save(path: Path, ring: KeyRing) -> None:
    """Writes the ring readable by its owner only, replacing any old file atomically."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(_encode(ring), f)
    os.replace(tmp, path)


def _encode(ring: KeyRing) -> dict[str, object]:
    return {
        "active": ring.active_kid,
        "keys": {kid: base64.b64encode(key).decode() for kid, key in ring.keys.items()},
    }


def _decode(doc: dict[str, object]) -> KeyRing:
    keys = doc["keys"]
    active = doc["active"]
    if not isinstance(keys, dict) or not isinstance(active, str) or active not in keys:
        raise ValueError(f"malformed {KEY_FILE_NAME}")
    return KeyRing(active, {str(kid): base64.b64decode(key) for kid, key in keys.items()})
