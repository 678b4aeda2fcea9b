"""Tags on notebook instances (SageMaker's, keys case-sensitive) and on users (IAM's,
keys unique ignoring case: a new "Team" replaces an old "team"). Deleting the instance
or the user deletes its tags with it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from nbpresign.server.storage.database import Database, Statements, placeholders

Tag = tuple[str, str]  # (key, value)


@dataclass(frozen=True)
class Table:
    name: str
    owner: str  # the column naming what the tags are on
    keys_ignore_case: bool


TABLES: dict[Literal["instance", "user"], Table] = {
    "instance": Table("instance_tags", "instance_key", keys_ignore_case=False),
    "user": Table("user_tags", "user_name", keys_ignore_case=True),
}


async def put(db: Statements, table: Table, owner: str, tags: Sequence[Tag]) -> None:
    """Adds the tags, a key already there taking the new value; all or none."""
    same_key = "lower(tag_key) = lower($2)" if table.keys_ignore_case else "tag_key = $2"
    async with db.transaction() as tx:
        for key, value in tags:
            await tx.execute(
                f"DELETE FROM {table.name} WHERE {table.owner} = $1 AND {same_key}", owner, key
            )
            await tx.execute(
                f"INSERT INTO {table.name} ({table.owner}, tag_key, tag_value) VALUES ($1, $2, $3)",
                owner,
                key,
                value,
            )


async def delete(db: Database, table: Table, owner: str, keys: Sequence[str]) -> None:
    """Removes the tags with these keys; keys not there are ignored."""
    if not keys:
        return
    column = "lower(tag_key)" if table.keys_ignore_case else "tag_key"
    wanted = [k.lower() for k in keys] if table.keys_ignore_case else list(keys)
    await db.execute(
        f"DELETE FROM {table.name} WHERE {table.owner} = $1 "
        f"AND {column} IN ({placeholders(2, len(wanted))})",
        owner,
        *wanted,
    )


async def list_page(
    db: Database, table: Table, owner: str, *, after: str | None = None, limit: int | None = None
) -> list[Tag]:
    """The tags by key, those after `after` only, at most `limit` of them."""
    args: list[object] = [owner]
    where = f"{table.owner} = $1"
    if after is not None:
        args.append(after)
        where += f" AND tag_key > ${len(args)}"
    page = ""
    if limit is not None:
        args.append(limit)
        page = f" LIMIT ${len(args)}"
    rows = await db.fetch(
        f"SELECT tag_key, tag_value FROM {table.name} WHERE {where} ORDER BY tag_key{page}", *args
    )
    return [(str(k), str(v)) for k, v in rows]
