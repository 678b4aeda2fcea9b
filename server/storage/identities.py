"""Users and their access keys; deleting a user deletes its keys, policies, group
memberships and tags with it."""

from __future__ import annotations

from nbpresign.server.iam.identities import AccessKey, User
from nbpresign.server.storage.database import Database
from nbpresign.server.storage.errors import UniqueViolation

KEY_COLUMNS = "key_id, user_name, sealed_secret, status, creation_time"


class DuplicateUser(Exception):
    """A user with that name already exists."""


async def add_user(db: Database, user: User) -> None:
    """Raises DuplicateUser when the name is taken."""
    try:
        await db.execute(
            "INSERT INTO users (name, creation_time, user_id) VALUES ($1, $2, $3)",
            user.name,
            user.creation_time,
            user.user_id,
        )
    except UniqueViolation as exc:
        raise DuplicateUser(user.name) from exc


async def get_user(db: Database, name: str) -> User | None:
    row = await db.fetchrow("SELECT name, creation_time, user_id FROM users WHERE name = $1", name)
    return None if row is None else User(*row)


async def list_users(db: Database) -> list[User]:
    rows = await db.fetch("SELECT name, creation_time, user_id FROM users ORDER BY name")
    return [User(*row) for row in rows]


async def delete_user(db: Database, name: str) -> bool:
    """Deletes the user with their keys and policies; False if there was none."""
    return await db.execute("DELETE FROM users WHERE name = $1", name) == 1


async def add_access_key(db: Database, key: AccessKey) -> None:
    await db.execute(
        f"INSERT INTO access_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5)",
        key.key_id,
        key.user_name,
        key.sealed_secret,
        key.status,
        key.creation_time,
    )


async def get_access_key(db: Database, key_id: str) -> AccessKey | None:
    row = await db.fetchrow(f"SELECT {KEY_COLUMNS} FROM access_keys WHERE key_id = $1", key_id)
    return None if row is None else AccessKey(*row)


async def list_access_keys(db: Database, user_name: str) -> list[AccessKey]:
    rows = await db.fetch(
        f"SELECT {KEY_COLUMNS} FROM access_keys WHERE user_name = $1 ORDER BY creation_time",
        user_name,
    )
    return [AccessKey(*row) for row in rows]


async def delete_access_key(db: Database, user_name: str, key_id: str) -> bool:
    deleted = await db.execute(
        "DELETE FROM access_keys WHERE user_name = $1 AND key_id = $2", user_name, key_id
    )
    return deleted == 1
