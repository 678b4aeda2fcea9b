"""The keys that sign AuthorizedUrl tokens and session cookies.

Each key has a `kid`; tokens name the key that signed them, so a new key can take over
signing while the old ones still verify what they signed. Keys live in storage, sealed
under the master key, so every replica signs and verifies with the same ring. The
newest key signs. A replica reloads the ring every REFRESH_SECONDS, and at once when it
meets a kid it does not know (another replica rotated).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass

from nbpresign.server.iam.sealing import SecretBox
from nbpresign.server.storage import Storage

log = logging.getLogger(__name__)

KEY_BYTES = 32  # HS256: a key as long as the hash
REFRESH_SECONDS = 60.0


@dataclass(frozen=True)
class KeyRing:
    active_kid: str
    keys: dict[str, bytes]

    @property
    def active_key(self) -> bytes:
        return self.keys[self.active_kid]


def new_kid() -> str:
    return secrets.token_hex(8)


def new_key_ring() -> KeyRing:
    """A ring of one fresh key, kept in memory only (tests, tools)."""
    kid = new_kid()
    return KeyRing(kid, {kid: secrets.token_bytes(KEY_BYTES)})


async def add_key(storage: Storage, box: SecretBox, now: float) -> str:
    """Adds a fresh key, which becomes the one that signs; returns its kid."""
    kid = new_kid()
    await storage.add_signing_key(kid, box.seal(secrets.token_bytes(KEY_BYTES).hex()), now)
    return kid


class KeyStore:
    """The ring, cached; `ring()` is cheap, `refresh()` reads storage."""

    def __init__(self, storage: Storage, box: SecretBox) -> None:
        self._storage = storage
        self._box = box
        self._ring: KeyRing | None = None
        self._loaded_at = 0.0

    async def ensure(self, now: float) -> None:
        """Loads the ring, first creating a key if storage has none."""
        if not await self._storage.signing_keys():
            await add_key(self._storage, self._box, now)
        await self.refresh()

    async def refresh(self) -> KeyRing:
        stored = await self._storage.signing_keys()
        keys = {kid: bytes.fromhex(self._box.open(sealed)) for kid, sealed, _ in stored}
        self._ring = KeyRing(stored[-1][0], keys)
        self._loaded_at = time.monotonic()
        return self._ring

    async def refresh_forever(self) -> None:
        """Reloads every REFRESH_SECONDS, so a key another replica added signs here too."""
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                await self.refresh()
            except Exception:
                log.exception("reloading the signing keys failed; keeping the ones loaded")

    def ring(self) -> KeyRing:
        if self._ring is None:
            raise RuntimeError("KeyStore.ensure() must run before use")
        return self._ring

    async def ring_knowing(self, kid: str | None) -> KeyRing:
        """The ring, reloaded first if `kid` is new to it or the ring is old."""
        ring = self.ring()
        stale = time.monotonic() - self._loaded_at > REFRESH_SECONDS
        if stale or (kid is not None and kid not in ring.keys):
            ring = await self.refresh()
        return ring
