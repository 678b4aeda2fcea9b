"""SQL shared by the SQLite and PostgreSQL backends; each says how it marks parameters."""

from __future__ import annotations

from collections.abc import Callable

from nbpresign.server.notebooks.instance import NotebookInstance
from nbpresign.server.storage.base import InstanceQuery

INSTANCE_COLUMNS = "name, jupyter_url, jupyter_token, status, creation_time, last_modified_time"
KEY_COLUMNS = "key_id, user_name, sealed_secret, status, creation_time"

# Sort columns of InstanceQuery -> SQL columns; the key breaks ties, so pages are stable.
SORT_COLUMNS = {"name": "key", "creation_time": "creation_time", "status": "status"}

Mark = Callable[[int], str]  # parameter number (from 1) -> "?" or "$1"


def instance_row(i: NotebookInstance) -> tuple[str, str, str, str, str, float, float]:
    return (
        i.key,
        i.name,
        i.jupyter_url,
        i.jupyter_token,
        i.status,
        i.creation_time,
        i.last_modified_time,
    )


def list_instances(query: InstanceQuery, *, mark: Mark, contains: str) -> tuple[str, list[object]]:
    """The SELECT for one page. `contains` is the dialect's substring test, e.g.
    "instr(key, {}) > 0"; the name filter is a plain substring, never a LIKE pattern."""
    clauses: list[str] = []
    params: list[object] = []

    def bind(value: object) -> str:
        params.append(value)
        return mark(len(params))

    filters: list[tuple[str, object | None]] = [
        (contains, query.name_contains.lower() if query.name_contains else None),
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
        f"SELECT {INSTANCE_COLUMNS} FROM notebook_instances {where} "
        f"ORDER BY {column} {direction}, key {direction} LIMIT {bind(query.limit)}"
    )
    return sql, params


def insert_instance(mark: Mark) -> str:
    marks = ", ".join(mark(n) for n in range(1, 8))
    return f"INSERT INTO notebook_instances (key, {INSTANCE_COLUMNS}) VALUES ({marks})"
