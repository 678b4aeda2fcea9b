"""What the repositories need of a database, and what each adapter provides.

SQL is written once, with PostgreSQL's numbered parameters: `WHERE key = $1`. The SQLite
adapter rewrites them to SQLite's `?1`. Driver errors never leave an adapter: it raises
the exceptions of storage.errors instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol

Dialect = Literal["sqlite", "postgresql"]
Row = Sequence[Any]  # a tuple from sqlite3, an asyncpg.Record: index it or unpack it

# Events between replicas: "instance:<key>" (access to it ended), "user:<name>" (changed),
# "tags:<key>" (an instance's tags changed), and RESYNC.
EventHandler = Callable[[str], Awaitable[None]]
# Sent to every subscriber when events may have been lost (PostgreSQL's listener
# reconnected after an outage): whatever an event would have changed, re-check it all.
RESYNC = "resync"


def placeholders(first: int, count: int) -> str:
    """placeholders(3, 2) -> "$3, $4": the marks of an IN (...) list."""
    return ", ".join(f"${n}" for n in range(first, first + count))


class Statements(Protocol):
    """Runs SQL: on its own (each statement commits), or inside a transaction."""

    @property
    def dialect(self) -> Dialect: ...

    async def fetch(self, sql: str, *args: object) -> list[Row]: ...

    async def fetchrow(self, sql: str, *args: object) -> Row | None: ...

    async def fetchval(self, sql: str, *args: object) -> Any: ...

    async def execute(self, sql: str, *args: object) -> int:
        """The number of rows the statement changed (0 for one that changes none)."""

    def transaction(self) -> AbstractAsyncContextManager[Statements]:
        """Statements through what it yields run in one transaction: committed when the
        block ends, rolled back when it raises. Nested, a savepoint."""


class Database(Statements, Protocol):
    async def publish(self, event: str) -> None:
        """Tells every subscriber (on every replica, where the database reaches them)."""

    def subscribe(self, handler: EventHandler) -> None: ...

    async def close(self) -> None: ...
