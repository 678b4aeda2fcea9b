"""Console sessions, kept server-side so every replica shares them and sign-out, a deleted
login profile or a deleted user ends them. Stored by the hash of the cookie's value."""

from __future__ import annotations

from dataclasses import dataclass

from nbpresign.server.storage.database import Database

COLUMNS = "id_hash, profile_id, user_name, csrf_token, created_at, last_seen"


@dataclass(frozen=True)
class ConsoleSession:
    id_hash: str
    profile_id: str
    user_name: str
    csrf_token: str
    created_at: float
    last_seen: float


async def add(db: Database, session: ConsoleSession) -> None:
    await db.execute(
        f"INSERT INTO console_sessions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)",
        session.id_hash,
        session.profile_id,
        session.user_name,
        session.csrf_token,
        session.created_at,
        session.last_seen,
    )


async def touch(
    db: Database, id_hash: str, *, idle_since: float, absolute_since: float, now: float
) -> ConsoleSession | None:
    """The session, its last use moved to now; None (and deleted) once it has expired."""
    async with db.transaction() as tx:
        await tx.execute(
            "DELETE FROM console_sessions WHERE last_seen <= $1 OR created_at <= $2",
            idle_since,
            absolute_since,
        )
        await tx.execute(
            "UPDATE console_sessions SET last_seen = $2 WHERE id_hash = $1", id_hash, now
        )
        row = await tx.fetchrow(
            f"SELECT {COLUMNS} FROM console_sessions WHERE id_hash = $1", id_hash
        )
    return None if row is None else ConsoleSession(*row)


async def delete(db: Database, id_hash: str) -> None:
    await db.execute("DELETE FROM console_sessions WHERE id_hash = $1", id_hash)
