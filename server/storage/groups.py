"""Groups, their members and their inline policies; and a user's whole access (own and
groups' policies, tags, id) in one query, for the authorizer."""

from __future__ import annotations

from nbpresign.server.iam.identities import Access, Group, User
from nbpresign.server.storage.database import Database
from nbpresign.server.storage.errors import UniqueViolation

COLUMNS = "name, creation_time, group_id"


class DuplicateGroup(Exception):
    """A group with that name already exists."""


async def add(db: Database, group: Group) -> None:
    """Raises DuplicateGroup when the name is taken."""
    try:
        await db.execute(
            f"INSERT INTO groups ({COLUMNS}) VALUES ($1, $2, $3)",
            group.name,
            group.creation_time,
            group.group_id,
        )
    except UniqueViolation as exc:
        raise DuplicateGroup(group.name) from exc


async def get(db: Database, name: str) -> Group | None:
    row = await db.fetchrow(f"SELECT {COLUMNS} FROM groups WHERE name = $1", name)
    return None if row is None else Group(*row)


async def list_all(db: Database) -> list[Group]:
    return [Group(*row) for row in await db.fetch(f"SELECT {COLUMNS} FROM groups ORDER BY name")]


async def delete_if_empty(db: Database, name: str) -> bool:
    """Deletes the group if it has neither members nor policies (IAM's DeleteConflict
    otherwise); False if it was not deleted, for either reason."""
    deleted = await db.execute(
        "DELETE FROM groups WHERE name = $1 "
        "AND NOT EXISTS (SELECT 1 FROM group_members WHERE group_name = $1) "
        "AND NOT EXISTS (SELECT 1 FROM group_policies WHERE group_name = $1)",
        name,
    )
    return deleted == 1


async def add_member(db: Database, group_name: str, user_name: str) -> None:
    """Adds the user; adding a member again changes nothing."""
    await db.execute(
        "INSERT INTO group_members (group_name, user_name) VALUES ($1, $2) "
        "ON CONFLICT (group_name, user_name) DO NOTHING",
        group_name,
        user_name,
    )


async def remove_member(db: Database, group_name: str, user_name: str) -> bool:
    removed = await db.execute(
        "DELETE FROM group_members WHERE group_name = $1 AND user_name = $2",
        group_name,
        user_name,
    )
    return removed == 1


async def members(db: Database, group_name: str) -> list[User]:
    rows = await db.fetch(
        "SELECT u.name, u.creation_time, u.user_id FROM users u "
        "JOIN group_members m ON m.user_name = u.name WHERE m.group_name = $1 ORDER BY u.name",
        group_name,
    )
    return [User(*row) for row in rows]


async def groups_of(db: Database, user_name: str) -> list[Group]:
    rows = await db.fetch(
        "SELECT g.name, g.creation_time, g.group_id FROM groups g "
        "JOIN group_members m ON m.group_name = g.name WHERE m.user_name = $1 ORDER BY g.name",
        user_name,
    )
    return [Group(*row) for row in rows]


async def put_policy(db: Database, group_name: str, policy_name: str, document: str) -> None:
    """Attaches the document under that name, replacing any before it."""
    await db.execute(
        "INSERT INTO group_policies (group_name, policy_name, document) VALUES ($1, $2, $3) "
        "ON CONFLICT (group_name, policy_name) DO UPDATE SET document = excluded.document",
        group_name,
        policy_name,
        document,
    )


async def get_policy(db: Database, group_name: str, policy_name: str) -> str | None:
    document = await db.fetchval(
        "SELECT document FROM group_policies WHERE group_name = $1 AND policy_name = $2",
        group_name,
        policy_name,
    )
    return None if document is None else str(document)


async def policy_names(db: Database, group_name: str) -> list[str]:
    rows = await db.fetch(
        "SELECT policy_name FROM group_policies WHERE group_name = $1 ORDER BY policy_name",
        group_name,
    )
    return [str(name) for (name,) in rows]


async def delete_policy(db: Database, group_name: str, policy_name: str) -> bool:
    deleted = await db.execute(
        "DELETE FROM group_policies WHERE group_name = $1 AND policy_name = $2",
        group_name,
        policy_name,
    )
    return deleted == 1


# One round trip: each row is (kind, a, b). "i": the user's id; "p": a policy document
# (the user's own, then their groups'); "t": a tag (key, value).
ACCESS_QUERY = """
SELECT 'i', user_id, '' FROM users WHERE name = $1
UNION ALL
SELECT 'p', document, '' FROM user_policies WHERE user_name = $1
UNION ALL
SELECT 'p', gp.document, '' FROM group_policies gp
    JOIN group_members m ON m.group_name = gp.group_name WHERE m.user_name = $1
UNION ALL
SELECT 't', tag_key, tag_value FROM user_tags WHERE user_name = $1
"""


async def access_of(db: Database, user_name: str) -> Access | None:
    """The user's id, effective policy documents and tags; None if there is no such user."""
    rows = await db.fetch(ACCESS_QUERY, user_name)
    user_ids = [str(a) for kind, a, _ in rows if kind == "i"]
    if not user_ids:
        return None
    return Access(
        user_id=user_ids[0],
        documents=tuple(str(a) for kind, a, _ in rows if kind == "p"),
        tags=tuple((str(a), str(b)) for kind, a, b in rows if kind == "t"),
    )
