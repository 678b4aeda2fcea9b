"""Login profiles (console passwords), one per user; deleting the user deletes it, and
deleting it deletes the console sessions opened with it."""

from __future__ import annotations

from nbpresign.server.iam.login_profiles import LoginProfile
from nbpresign.server.storage.database import Database, Row
from nbpresign.server.storage.errors import UniqueViolation

COLUMNS = "user_name, profile_id, password_hash, reset_required, creation_time"


class DuplicateLoginProfile(Exception):
    """The user already has a login profile."""


def _profile(row: Row) -> LoginProfile:
    name, profile_id, password_hash, reset, created = row
    return LoginProfile(name, profile_id, password_hash, bool(reset), float(created))


async def add(db: Database, profile: LoginProfile) -> None:
    """Raises DuplicateLoginProfile when the user has one."""
    try:
        await db.execute(
            f"INSERT INTO login_profiles ({COLUMNS}) VALUES ($1, $2, $3, $4, $5)",
            profile.user_name,
            profile.profile_id,
            profile.password_hash,
            int(profile.reset_required),
            profile.creation_time,
        )
    except UniqueViolation as exc:
        raise DuplicateLoginProfile(profile.user_name) from exc


async def get(db: Database, user_name: str) -> LoginProfile | None:
    row = await db.fetchrow(f"SELECT {COLUMNS} FROM login_profiles WHERE user_name = $1", user_name)
    return None if row is None else _profile(row)


async def get_by_id(db: Database, profile_id: str) -> LoginProfile | None:
    row = await db.fetchrow(
        f"SELECT {COLUMNS} FROM login_profiles WHERE profile_id = $1", profile_id
    )
    return None if row is None else _profile(row)


async def update(
    db: Database, user_name: str, *, password_hash: str | None, reset_required: bool | None
) -> bool:
    """Changes what is given; False if the user has no login profile."""
    changed = await db.execute(
        "UPDATE login_profiles SET password_hash = coalesce($2, password_hash), "
        "reset_required = coalesce($3, reset_required) WHERE user_name = $1",
        user_name,
        password_hash,
        None if reset_required is None else int(reset_required),
    )
    return changed == 1


async def delete(db: Database, user_name: str) -> bool:
    return await db.execute("DELETE FROM login_profiles WHERE user_name = $1", user_name) == 1
