"""URL-signing keys, sealed: (kid, sealed key, creation time)."""

from __future__ import annotations

from nbpresign.server.storage.database import Database


async def list_all(db: Database) -> list[tuple[str, bytes, float]]:
    """Every key, oldest first."""
    rows = await db.fetch(
        "SELECT kid, sealed_key, creation_time FROM signing_keys ORDER BY creation_time, kid"
    )
    return [(str(kid), bytes(key), float(created)) for kid, key, created in rows]


async def add(db: Database, kid: str, sealed_key: bytes, creation_time: float) -> None:
    await db.execute(
        "INSERT INTO signing_keys (kid, sealed_key, creation_time) VALUES ($1, $2, $3)",
        kid,
        sealed_key,
        creation_time,
    )
