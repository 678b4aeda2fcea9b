"""Inline policies attached to users, by name: (policy name, JSON document)."""

from __future__ import annotations

from nbpresign.server.storage.database import Database


async def put(db: Database, user_name: str, policy_name: str, document: str) -> None:
    """Attaches the document under that name, replacing any before it."""
    await db.execute(
        "INSERT INTO user_policies (user_name, policy_name, document) VALUES ($1, $2, $3) "
        "ON CONFLICT (user_name, policy_name) DO UPDATE SET document = excluded.document",
        user_name,
        policy_name,
        document,
    )


async def list_of(db: Database, user_name: str) -> list[tuple[str, str]]:
    """(policy name, document) pairs, by name."""
    rows = await db.fetch(
        "SELECT policy_name, document FROM user_policies WHERE user_name = $1 ORDER BY policy_name",
        user_name,
    )
    return [(str(name), str(document)) for name, document in rows]


async def delete(db: Database, user_name: str, policy_name: str) -> bool:
    deleted = await db.execute(
        "DELETE FROM user_policies WHERE user_name = $1 AND policy_name = $2",
        user_name,
        policy_name,
    )
    return deleted == 1
