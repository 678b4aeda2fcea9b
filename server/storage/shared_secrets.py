"""Secrets every replica must agree on (the master key, when no file or setting gives it)."""

from __future__ import annotations

from nbpresign.server.storage.database import Database


async def get_or_set(db: Database, name: str, candidate: bytes) -> bytes:
    """The secret stored under `name`, storing `candidate` first if there is none.

    Atomic: replicas racing to set it all get the one that won."""
    await db.execute(
        "INSERT INTO shared_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        name,
        candidate,
    )
    return bytes(await db.fetchval("SELECT value FROM shared_secrets WHERE name = $1", name))
