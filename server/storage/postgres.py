"""PostgreSQL through asyncpg, as a Database: one database shared by every replica.

Statements run on a pool's connections. Every wait is bounded by `call_timeout`: connecting,
taking a pooled connection, each statement (asyncpg's command_timeout). So a database
that is down or frozen makes calls fail with StorageUnavailable after at most that long
instead of hanging; a connection that failed so is dropped, and the pool connects anew
once the database answers again.

Events between replicas travel by LISTEN/NOTIFY, on a connection of the listener's own.
When it dies (a restart, a lost network) it reconnects with backoff until close(), then
sends every subscriber RESYNC: notifications sent while it was away are lost.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg

from nbpresign.server.storage.database import RESYNC, Dialect, EventHandler, Row, Statements
from nbpresign.server.storage.errors import (
    IntegrityViolation,
    InvalidText,
    StorageError,
    StorageUnavailable,
    UniqueViolation,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

CHANNEL = "nbpresign_events"
DEFAULT_TIMEOUT = 5.0
# The listener's reconnection: waits from the first to the longest, doubling, with jitter.
RECONNECT_FIRST_SECONDS = 0.5
RECONNECT_LONGEST_SECONDS = 10.0
LOGGED_ATTEMPTS = 3  # failed reconnections logged; the rest are retried quietly

# asyncpg's errors -> ours, the first match wins; any other driver error is a bug in the
# SQL (StorageError). An InterfaceError on a closed connection or pool is handled first.
CONVERSIONS: Sequence[tuple[type[BaseException], type[StorageError]]] = (
    (asyncpg.UniqueViolationError, UniqueViolation),
    (asyncpg.IntegrityConstraintViolationError, IntegrityViolation),
    # PostgreSQL text holds no NUL: 22021 for a text parameter, 22P05 for \u0000 in JSON.
    (asyncpg.CharacterNotInRepertoireError, InvalidText),
    (asyncpg.UntranslatableCharacterError, InvalidText),
    # Refused, reset, unreachable; TimeoutError is one too: connecting, waiting for a
    # pooled connection, or a statement past command_timeout.
    (OSError, StorageUnavailable),
    (asyncpg.PostgresConnectionError, StorageUnavailable),  # 08: the connection was lost
    (asyncpg.InsufficientResourcesError, StorageUnavailable),  # 53: too many connections
    (asyncpg.OperatorInterventionError, StorageUnavailable),  # 57: shutting down, starting
    (asyncpg.PostgresSystemError, StorageUnavailable),  # 58: I/O error
    (asyncpg.TransactionRollbackError, StorageUnavailable),  # 40: deadlock; retry it
)
DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)


def _converted(exc: BaseException, connection: asyncpg.Connection | None) -> StorageError:
    """Ours for the driver's `exc`, raised on `connection` (None: waiting for the pool). A
    connection the database stopped answering on is dropped, not waited for or reused."""
    error = _ours(exc, connection)
    if isinstance(error, StorageUnavailable) and connection is not None:
        connection.terminate()
    return error


def _ours(exc: BaseException, connection: asyncpg.Connection | None) -> StorageError:
    if isinstance(exc, asyncpg.InterfaceError) and (connection is None or connection.is_closed()):
        return StorageUnavailable(str(exc))  # the pool or the connection closed under us
    for driver, ours in CONVERSIONS:
        if isinstance(exc, driver):
            return ours(str(exc) or type(exc).__name__)
    return StorageError(str(exc))


async def _keep_session(connection: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing beyond asyncpg's own (it always rolls back an
    open transaction). asyncpg's default also runs RESET ALL; UNLISTEN *; CLOSE ALL and
    pg_advisory_unlock_all(): one more round trip per query, half of a presign's time in
    the database (bench/README.md). Pooled connections never take session state: no SET,
    no LISTEN (the listener has its own connection), advisory locks only per transaction,
    cursors only inside transactions. Keep it so, or drop this reset."""


def _count(status: str) -> int:
    """asyncpg's command status -> the row count: "UPDATE 1" -> 1, "INSERT 0 1" -> 1,
    "CREATE TABLE" -> 0."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _Statements:
    """fetch, fetchrow, fetchval and execute, each through _run."""

    dialect: Dialect = "postgresql"

    async def _run(self, statement: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        raise NotImplementedError

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        return list(await self._run(lambda connection: connection.fetch(sql, *args)))

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        row: Row | None = await self._run(lambda connection: connection.fetchrow(sql, *args))
        return row

    async def fetchval(self, sql: str, *args: object) -> Any:
        return await self._run(lambda connection: connection.fetchval(sql, *args))

    async def execute(self, sql: str, *args: object) -> int:
        return _count(await self._run(lambda connection: connection.execute(sql, *args)))


async def _run_on(
    connection: asyncpg.Connection, statement: Callable[[asyncpg.Connection], Awaitable[T]]
) -> T:
    try:
        return await statement(connection)
    except DRIVER_ERRORS as exc:
        raise _converted(exc, connection) from exc


class OnConnection(_Statements):
    """Statements on one connection: a transaction's."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def _run(self, statement: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        return await _run_on(self._connection, statement)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Statements]:
        try:
            async with self._connection.transaction():  # nested: asyncpg's savepoint
                yield self
        except DRIVER_ERRORS as exc:
            raise _converted(exc, self._connection) from exc


class PostgresDatabase(_Statements):
    def __init__(self, url: str, pool: asyncpg.Pool, timeout: float) -> None:
        self._url = url
        self._pool = pool
        self._timeout = timeout
        self._subscribers: list[EventHandler] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: asyncpg.Connection | None = None
        self._lost = asyncio.Event()  # the listener's connection ended
        self._listening: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str, *, call_timeout: float = DEFAULT_TIMEOUT) -> PostgresDatabase:
        try:
            pool = await asyncpg.create_pool(
                url,
                # No floor: asyncpg (0.32) would keep one by reconnecting in the background,
                # logging a traceback for each failed try through an outage. Connections
                # are made when a call needs one.
                min_size=0,
                max_size=10,
                reset=_keep_session,
                timeout=call_timeout,  # to connect
                command_timeout=call_timeout,
            )
        except DRIVER_ERRORS as exc:
            raise _converted(exc, None) from exc
        db = cls(url, pool, call_timeout)
        try:
            await db._listen()
        except BaseException:
            await db.close()
            raise
        db._listening = asyncio.ensure_future(db._keep_listening())
        return db

    async def close(self) -> None:
        """Closes the listener and the pool, dropping connections that do not close in time."""
        if self._listening is not None:
            self._listening.cancel()
            await asyncio.gather(self._listening, return_exceptions=True)
        if self._listener is not None:
            try:
                await self._listener.close(timeout=self._timeout)
            except DRIVER_ERRORS:
                self._listener.terminate()
        try:
            await asyncio.wait_for(self._pool.close(), self._timeout)
        except DRIVER_ERRORS:
            self._pool.terminate()

    async def _run(self, statement: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        connection = await self._acquire()
        try:
            return await _run_on(connection, statement)
        finally:
            await self._release(connection)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Statements]:
        connection = await self._acquire()
        try:
            async with OnConnection(connection).transaction() as tx:
                yield tx
        finally:
            await self._release(connection)

    async def publish(self, event: str) -> None:
        # Delivered to every listening replica, this one included (through its listener).
        await self.execute("SELECT pg_notify($1, $2)", CHANNEL, event)

    def subscribe(self, handler: EventHandler) -> None:
        self._subscribers.append(handler)

    async def _acquire(self) -> asyncpg.Connection:
        try:
            # Not acquire(timeout=): on Python 3.11 asyncpg runs that in a task of its own,
            # about 6 us more for every statement.
            async with asyncio.timeout(self._timeout):
                return await self._pool.acquire()
        except DRIVER_ERRORS as exc:
            raise _converted(exc, None) from exc

    async def _release(self, connection: asyncpg.Connection) -> None:
        try:
            await self._pool.release(connection, timeout=self._timeout)
        except DRIVER_ERRORS as exc:
            raise _converted(exc, connection) from exc

    async def _listen(self) -> None:
        """Connects the listener; its end sets self._lost."""
        try:
            listener = await asyncpg.connect(
                self._url, timeout=self._timeout, command_timeout=self._timeout
            )
        except DRIVER_ERRORS as exc:
            raise _converted(exc, None) from exc
        lost = asyncio.Event()
        listener.add_termination_listener(lambda _: lost.set())
        try:
            await listener.add_listener(CHANNEL, self._on_notify)
        except DRIVER_ERRORS as exc:
            listener.terminate()
            raise _converted(exc, listener) from exc
        self._listener, self._lost = listener, lost

    async def _keep_listening(self) -> None:
        """Until close(): when the listener's connection ends, connects a new one."""
        while True:
            await self._lost.wait()
            log.warning("lost the PostgreSQL listener: events wait until it reconnects")
            started = time.monotonic()
            attempts = await self._reconnect()
            log.info(
                "PostgreSQL listener reconnected after %.1f s (attempt %d); resyncing",
                time.monotonic() - started,
                attempts,
            )
            self._dispatch(RESYNC)

    async def _reconnect(self) -> int:
        """Connects the listener anew, waiting longer after each failure; returns the
        number of attempts it took."""
        wait, attempts = RECONNECT_FIRST_SECONDS, 0
        while True:
            attempts += 1
            await asyncio.sleep(wait * random.uniform(0.5, 1.0))  # noqa: S311 (jitter)
            try:
                await self._listen()
                return attempts
            except StorageError as exc:
                if attempts <= LOGGED_ATTEMPTS:
                    quietly = "; retrying quietly" if attempts == LOGGED_ATTEMPTS else ""
                    log.info("reconnecting the PostgreSQL listener failed: %s%s", exc, quietly)
            wait = min(wait * 2, RECONNECT_LONGEST_SECONDS)

    def _on_notify(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        self._dispatch(payload)

    def _dispatch(self, event: str) -> None:
        for handler in self._subscribers:
            task = asyncio.ensure_future(handler(event))
            self._tasks.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("event handler failed", exc_info=task.exception())
