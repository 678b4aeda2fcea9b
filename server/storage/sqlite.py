"""The embedded default: SQLite in the data directory, as a Database.

Statements run on the event loop's own thread, with the standard sqlite3 module: they
read a local file, mostly from SQLite's page cache, in microseconds, and a hop to a worker
thread (aiosqlite's way) cost more than the query itself (see bench/README.md). A write
that must wait for another process's lock (several --workers) waits at most
BUSY_TIMEOUT_SECONDS, then fails with StorageUnavailable.

The one connection is shared by every coroutine. A transaction holds it from BEGIN
IMMEDIATE to COMMIT, and its body may await: meanwhile other coroutines' statements wait
for it to end, so none runs inside a transaction it is not part of. Events reach this
process's subscribers only (several `--workers` on one SQLite file rely on the proxy's
periodic re-check instead).
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from nbpresign.server.storage.database import Dialect, EventHandler, Row, Statements
from nbpresign.server.storage.errors import (
    IntegrityViolation,
    StorageError,
    StorageUnavailable,
    UniqueViolation,
)

DB_FILE_NAME = "nbpresign.sqlite3"
BUSY_TIMEOUT_SECONDS = 5.0

# Primary result codes (an extended code's low byte) that mean "cannot answer right now".
UNAVAILABLE_CODES = {
    sqlite3.SQLITE_BUSY,  # "database is locked": another process kept it past the timeout
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_IOERR,  # "disk I/O error"
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_CANTOPEN,
}
UNIQUE_CODES = {sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE}


def strpos(text: str, part: str) -> int:
    """PostgreSQL's strpos: strpos("notebook", "book") -> 5; 0 when absent."""
    return text.find(part) + 1


# PostgreSQL's functions that SQLite lacks, so that SQL is written once: name -> (arity, f).
# Each is Python called per row: a name filter scanning 100,000 instances took 28 ms
# with strpos against 6 ms with SQLite's own instr (on the 2-core bench machine).
FUNCTIONS = {"strpos": (2, strpos)}

_PARAMETER = re.compile(r"\$(\d+)")


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """translate("key = $1 AND status IN ($2, $3)") -> "key = ?1 AND status IN (?2, ?3)"."""
    return _PARAMETER.sub(r"?\1", sql)


def _converted_error(exc: sqlite3.Error) -> StorageError:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(exc, sqlite3.IntegrityError):
        return (UniqueViolation if code in UNIQUE_CODES else IntegrityViolation)(str(exc))
    if code is not None and code & 0xFF in UNAVAILABLE_CODES:
        return StorageUnavailable(str(exc))
    return StorageError(str(exc))


# The transaction the current coroutine is in (tasks it starts inherit it): a marker
# object per transaction, so a task that outlives one is not taken to be in the next.
_inside: ContextVar[object | None] = ContextVar("sqlite_transaction", default=None)


class SqliteDatabase:
    dialect: Dialect = "sqlite"

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._transaction = asyncio.Lock()  # held while a transaction is open
        self._open: object | None = None  # the open transaction's marker
        self._savepoints = 0
        self._subscribers: list[EventHandler] = []
        self._closed = False

    @classmethod
    async def open(cls, data_dir: Path) -> SqliteDatabase:
        path = data_dir / DB_FILE_NAME
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        try:
            # timeout: how long to wait for another process's lock (workers, replicas);
            # isolation_level=None: each statement commits, unless a BEGIN says otherwise.
            db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            raise _converted_error(exc) from exc
        for name, (arity, function) in FUNCTIONS.items():
            db.create_function(name, arity, function, deterministic=True)
        return cls(db)

    async def close(self) -> None:
        self._closed = True
        self._db.close()

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        await self._turn()
        try:
            return self._db.execute(translate(sql), args).fetchall()
        except sqlite3.Error as exc:
            raise self._converted(exc) from exc

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        await self._turn()
        try:
            row: Row | None = self._db.execute(translate(sql), args).fetchone()
        except sqlite3.Error as exc:
            raise self._converted(exc) from exc
        return row

    async def fetchval(self, sql: str, *args: object) -> Any:
        row = await self.fetchrow(sql, *args)
        return None if row is None else row[0]

    async def execute(self, sql: str, *args: object) -> int:
        await self._turn()
        try:
            return max(self._db.execute(translate(sql), args).rowcount, 0)
        except sqlite3.Error as exc:
            raise self._converted(exc) from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Statements]:
        if self._open is not None and _inside.get() is self._open:
            async with self._savepoint():
                yield self
            return
        async with self._transaction:
            self._open = marker = object()
            inside = _inside.set(marker)
            try:
                self._run("BEGIN IMMEDIATE")  # the write lock now, not at the first write
                try:
                    yield self
                    self._run("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._run("ROLLBACK")
                    raise
            finally:
                self._open = None
                _inside.reset(inside)

    async def publish(self, event: str) -> None:
        for handler in self._subscribers:
            await handler(event)

    def subscribe(self, handler: EventHandler) -> None:
        self._subscribers.append(handler)

    async def _turn(self) -> None:
        """Returns when this coroutine may use the connection: at once, unless another
        coroutine's transaction holds it. Nothing awaits between this and the statement."""
        if self._open is not None and _inside.get() is not self._open:
            async with self._transaction:
                pass

    def _converted(self, exc: sqlite3.Error) -> StorageError:
        if self._closed:
            return StorageUnavailable("the SQLite database is closed")
        return _converted_error(exc)

    @asynccontextmanager
    async def _savepoint(self) -> AsyncIterator[None]:
        self._savepoints += 1
        name = f"nested_{self._savepoints}"
        self._run(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._run(f"ROLLBACK TO {name}")
            raise
        finally:
            self._run(f"RELEASE {name}")
            self._savepoints -= 1

    def _run(self, sql: str) -> None:
        try:
            self._db.execute(sql)
        except sqlite3.Error as exc:
            raise self._converted(exc) from exc
