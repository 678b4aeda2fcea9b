"""Registered notebook instances, keyed by their lower-cased name, listed by keyset pages.

Every write that changes what may be behind a name (register, a status change, pointing it
at another Jupyter server) gives the instance a new incarnation; URLs and sessions name the
incarnation they were made for, so none outlives the life of the instance it opened.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from nbpresign.server.notebooks.instance import NotebookInstance
from nbpresign.server.storage.database import Database, Statements, placeholders
from nbpresign.server.storage.errors import UniqueViolation

SortColumn = Literal["name", "creation_time", "status"]

COLUMNS = "name, jupyter_url, jupyter_token, status, creation_time, last_modified_time, incarnation"


def new_incarnation() -> str:
    return secrets.token_hex(8)


# Sort columns of InstanceQuery -> SQL columns; the key breaks ties, so pages are stable.
SORT_COLUMNS = {"name": "key", "creation_time": "creation_time", "status": "status"}


class DuplicateInstance(Exception):
    """An instance with that name (ignoring case) already exists."""


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the sort value and the key of its last instance."""

    sort_value: str | float
    key: str


@dataclass(frozen=True)
class InstanceQuery:
    limit: int
    sort_by: SortColumn = "name"
    descending: bool = False
    after: Cursor | None = None
    name_contains: str | None = None  # matched ignoring case
    status_equals: str | None = None
    created_before: float | None = None
    created_after: float | None = None
    modified_before: float | None = None
    modified_after: float | None = None


async def add(db: Statements, i: NotebookInstance) -> None:
    """Raises DuplicateInstance when the name is taken, ignoring case."""
    try:
        await db.execute(
            f"INSERT INTO notebook_instances (key, {COLUMNS}) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            i.key,
            i.name,
            i.jupyter_url,
            i.jupyter_token,
            i.status,
            i.creation_time,
            i.last_modified_time,
            new_incarnation(),
        )
    except UniqueViolation as exc:
        raise DuplicateInstance(i.key) from exc


async def get(db: Database, key: str) -> NotebookInstance | None:
    row = await db.fetchrow(f"SELECT {COLUMNS} FROM notebook_instances WHERE key = $1", key)
    return None if row is None else NotebookInstance(*row)


async def list_page(db: Database, query: InstanceQuery) -> list[NotebookInstance]:
    """At most query.limit instances, in the query's order, after query.after."""
    sql, args = page_query(query)
    return [NotebookInstance(*row) for row in await db.fetch(sql, *args)]


def page_query(query: InstanceQuery) -> tuple[str, list[object]]:
    """The SELECT for one page. The name filter is a plain substring, never a LIKE pattern."""
    clauses: list[str] = []
    args: list[object] = []

    def bind(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    filters: list[tuple[str, object | None]] = [
        ("strpos(key, {}) > 0", query.name_contains.lower() if query.name_contains else None),
        ("status = {}", query.status_equals),
        ("creation_time < {}", query.created_before),
        ("creation_time > {}", query.created_after),
        ("last_modified_time < {}", query.modified_before),
        ("last_modified_time > {}", query.modified_after),
    ]
    for clause, value in filters:
        if value is not None:
            clauses.append(clause.format(bind(value)))
    column = SORT_COLUMNS[query.sort_by]
    if query.after is not None:
        op = "<" if query.descending else ">"
        clauses.append(
            f"({column}, key) {op} ({bind(query.after.sort_value)}, {bind(query.after.key)})"
        )
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    direction = "DESC" if query.descending else "ASC"
    sql = (
        f"SELECT {COLUMNS} FROM notebook_instances {where} "
        f"ORDER BY {column} {direction}, key {direction} LIMIT {bind(query.limit)}"
    )
    return sql, args


async def change_status(
    db: Database, key: str, *, allowed_from: Collection[str], to: str, now: float
) -> bool:
    """Sets the status if the current one is in allowed_from; False if it was not."""
    if not allowed_from:
        return False
    changed = await db.execute(
        "UPDATE notebook_instances SET status = $1, last_modified_time = $2, incarnation = $3 "
        f"WHERE key = $4 AND status IN ({placeholders(5, len(allowed_from))})",
        to,
        now,
        new_incarnation(),
        key,
        *allowed_from,
    )
    return changed == 1


async def delete(db: Database, key: str, *, allowed_from: Collection[str]) -> bool:
    """Deletes the instance if its status is in allowed_from; False if it was not."""
    if not allowed_from:
        return False
    deleted = await db.execute(
        "DELETE FROM notebook_instances "
        f"WHERE key = $1 AND status IN ({placeholders(2, len(allowed_from))})",
        key,
        *allowed_from,
    )
    return deleted == 1


async def replace_upstream(
    db: Database, key: str, *, jupyter_url: str, jupyter_token: str, now: float
) -> bool:
    """Points an instance at another Jupyter server; False if there is no such instance."""
    changed = await db.execute(
        "UPDATE notebook_instances SET jupyter_url = $1, jupyter_token = $2, "
        "last_modified_time = $3, incarnation = $4 WHERE key = $5",
        jupyter_url,
        jupyter_token,
        now,
        new_incarnation(),
        key,
    )
    return changed == 1
