"""PostgreSQL, through asyncpg: one database shared by every replica.

Migrations run at start under a transaction-scoped advisory lock, so replicas starting
at once apply each exactly once. Events between replicas travel by LISTEN/NOTIFY.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence
from typing import Any

import asyncpg

from nbpresign.server.iam.identities import AccessKey, User
from nbpresign.server.notebooks.instance import NotebookInstance
from nbpresign.server.storage import queries
from nbpresign.server.storage.base import (
    DuplicateInstance,
    DuplicateUser,
    EventHandler,
    InstanceQuery,
)
from nbpresign.server.storage.queries import INSTANCE_COLUMNS, KEY_COLUMNS, instance_row

log = logging.getLogger(__name__)

CHANNEL = "nbpresign_events"
MIGRATION_LOCK = 0x6E627072  # any constant of our own: "nbpr"

MIGRATIONS: Sequence[str] = (
    """
    CREATE TABLE notebook_instances (
        key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        jupyter_url TEXT NOT NULL,
        jupyter_token TEXT NOT NULL,
        status TEXT NOT NULL,
        creation_time DOUBLE PRECISION NOT NULL,
        last_modified_time DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX notebook_instances_creation ON notebook_instances (creation_time, key);
    CREATE INDEX notebook_instances_status ON notebook_instances (status, key);
    CREATE TABLE redeemed_tokens (
        token_id TEXT PRIMARY KEY,
        expires_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX redeemed_tokens_expiry ON redeemed_tokens (expires_at);
    CREATE TABLE users (
        name TEXT PRIMARY KEY,
        creation_time DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE access_keys (
        key_id TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
        sealed_secret BYTEA NOT NULL,
        status TEXT NOT NULL,
        creation_time DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX access_keys_user ON access_keys (user_name);
    CREATE TABLE user_policies (
        user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
        policy_name TEXT NOT NULL,
        document TEXT NOT NULL,
        PRIMARY KEY (user_name, policy_name)
    );
    CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        sealed_key BYTEA NOT NULL,
        creation_time DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE shared_secrets (
        name TEXT PRIMARY KEY,
        value BYTEA NOT NULL
    );
    """,
)


async def _keep_session(connection: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing beyond asyncpg's own (it always rolls back an
    open transaction). asyncpg's default also runs RESET ALL; UNLISTEN *; CLOSE ALL and
    pg_advisory_unlock_all(): one more round trip per query, half of a presign's time in
    the database (bench/README.md). Pooled connections never take session state: no SET,
    no LISTEN (the listener has its own connection), advisory locks only per transaction,
    cursors only inside transactions. Keep it so, or drop this reset."""


def _mark(n: int) -> str:
    return f"${n}"


class PostgresStorage:
    def __init__(self, pool: asyncpg.Pool, listener: asyncpg.Connection) -> None:
        self._pool = pool
        self._listener = listener
        self._subscribers: list[EventHandler] = []
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    async def open(cls, url: str) -> PostgresStorage:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=10, reset=_keep_session)
        async with pool.acquire() as connection:
            await _migrate(connection)
        listener = await asyncpg.connect(url)
        storage = cls(pool, listener)
        await listener.add_listener(CHANNEL, storage._on_notify)
        return storage

    async def close(self) -> None:
        await self._listener.close()
        await self._pool.close()

    async def add_instance(self, instance: NotebookInstance) -> None:
        try:
            await self._pool.execute(queries.insert_instance(_mark), *instance_row(instance))
        except asyncpg.UniqueViolationError as exc:
            raise DuplicateInstance(instance.key) from exc

    async def get_instance(self, key: str) -> NotebookInstance | None:
        row = await self._pool.fetchrow(
            f"SELECT {INSTANCE_COLUMNS} FROM notebook_instances WHERE key = $1", key
        )
        return None if row is None else NotebookInstance(*row)

    async def list_instances(self, query: InstanceQuery) -> list[NotebookInstance]:
        sql, params = queries.list_instances(query, mark=_mark, contains="strpos(key, {}) > 0")
        return [NotebookInstance(*row) for row in await self._pool.fetch(sql, *params)]

    async def change_status(
        self, key: str, *, allowed_from: Collection[str], to: str, now: float
    ) -> bool:
        done = await self._pool.execute(
            "UPDATE notebook_instances SET status = $1, last_modified_time = $2 "
            "WHERE key = $3 AND status = ANY($4::text[])",
            to,
            now,
            key,
            list(allowed_from),
        )
        return _count(done) == 1

    async def delete_instance(self, key: str, *, allowed_from: Collection[str]) -> bool:
        done = await self._pool.execute(
            "DELETE FROM notebook_instances WHERE key = $1 AND status = ANY($2::text[])",
            key,
            list(allowed_from),
        )
        return _count(done) == 1

    async def replace_upstream(
        self, key: str, *, jupyter_url: str, jupyter_token: str, now: float
    ) -> bool:
        done = await self._pool.execute(
            "UPDATE notebook_instances SET jupyter_url = $1, jupyter_token = $2, "
            "last_modified_time = $3 WHERE key = $4",
            jupyter_url,
            jupyter_token,
            now,
            key,
        )
        return _count(done) == 1

    async def redeem_once(self, token_id: str, *, expires_at: float, now: float) -> bool:
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute("DELETE FROM redeemed_tokens WHERE expires_at <= $1", now)
            done = await connection.execute(
                "INSERT INTO redeemed_tokens (token_id, expires_at) VALUES ($1, $2) "
                "ON CONFLICT (token_id) DO NOTHING",
                token_id,
                expires_at,
            )
        return _count(done) == 1

    async def add_user(self, user: User) -> None:
        try:
            await self._pool.execute(
                "INSERT INTO users (name, creation_time) VALUES ($1, $2)",
                user.name,
                user.creation_time,
            )
        except asyncpg.UniqueViolationError as exc:
            raise DuplicateUser(user.name) from exc

    async def get_user(self, name: str) -> User | None:
        row = await self._pool.fetchrow(
            "SELECT name, creation_time FROM users WHERE name = $1", name
        )
        return None if row is None else User(*row)

    async def list_users(self) -> list[User]:
        rows = await self._pool.fetch("SELECT name, creation_time FROM users ORDER BY name")
        return [User(*row) for row in rows]

    async def delete_user(self, name: str) -> bool:
        return _count(await self._pool.execute("DELETE FROM users WHERE name = $1", name)) == 1

    async def add_access_key(self, key: AccessKey) -> None:
        await self._pool.execute(
            f"INSERT INTO access_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5)",
            key.key_id,
            key.user_name,
            key.sealed_secret,
            key.status,
            key.creation_time,
        )

    async def get_access_key(self, key_id: str) -> AccessKey | None:
        row = await self._pool.fetchrow(
            f"SELECT {KEY_COLUMNS} FROM access_keys WHERE key_id = $1", key_id
        )
        return None if row is None else AccessKey(*row)

    async def list_access_keys(self, user_name: str) -> list[AccessKey]:
        rows = await self._pool.fetch(
            f"SELECT {KEY_COLUMNS} FROM access_keys WHERE user_name = $1 ORDER BY creation_time",
            user_name,
        )
        return [AccessKey(*row) for row in rows]

    async def delete_access_key(self, user_name: str, key_id: str) -> bool:
        done = await self._pool.execute(
            "DELETE FROM access_keys WHERE user_name = $1 AND key_id = $2", user_name, key_id
        )
        return _count(done) == 1

    async def put_user_policy(self, user_name: str, policy_name: str, document: str) -> None:
        await self._pool.execute(
            "INSERT INTO user_policies (user_name, policy_name, document) VALUES ($1, $2, $3) "
            "ON CONFLICT (user_name, policy_name) DO UPDATE SET document = excluded.document",
            user_name,
            policy_name,
            document,
        )

    async def list_user_policies(self, user_name: str) -> list[tuple[str, str]]:
        rows = await self._pool.fetch(
            "SELECT policy_name, document FROM user_policies WHERE user_name = $1 "
            "ORDER BY policy_name",
            user_name,
        )
        return [(row[0], row[1]) for row in rows]

    async def delete_user_policy(self, user_name: str, policy_name: str) -> bool:
        done = await self._pool.execute(
            "DELETE FROM user_policies WHERE user_name = $1 AND policy_name = $2",
            user_name,
            policy_name,
        )
        return _count(done) == 1

    async def signing_keys(self) -> list[tuple[str, bytes, float]]:
        rows = await self._pool.fetch(
            "SELECT kid, sealed_key, creation_time FROM signing_keys ORDER BY creation_time, kid"
        )
        return [(row[0], bytes(row[1]), float(row[2])) for row in rows]

    async def add_signing_key(self, kid: str, sealed_key: bytes, creation_time: float) -> None:
        await self._pool.execute(
            "INSERT INTO signing_keys (kid, sealed_key, creation_time) VALUES ($1, $2, $3)",
            kid,
            sealed_key,
            creation_time,
        )

    async def shared_secret(self, name: str, candidate: bytes) -> bytes:
        await self._pool.execute(
            "INSERT INTO shared_secrets (name, value) VALUES ($1, $2) "
            "ON CONFLICT (name) DO NOTHING",
            name,
            candidate,
        )
        value = await self._pool.fetchval("SELECT value FROM shared_secrets WHERE name = $1", name)
        return bytes(value)

    async def publish(self, event: str) -> None:
        # Delivered to every listening replica, this one included (through its listener).
        await self._pool.execute("SELECT pg_notify($1, $2)", CHANNEL, event)

    def subscribe(self, handler: EventHandler) -> None:
        self._subscribers.append(handler)

    def _on_notify(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        for handler in self._subscribers:
            task = asyncio.ensure_future(handler(payload))
            self._tasks.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("event handler failed", exc_info=task.exception())


def _count(status: str) -> int:
    """asyncpg's command status, e.g. "UPDATE 1" or "INSERT 0 1" -> the row count."""
    return int(status.rsplit(" ", 1)[-1])


async def _migrate(connection: asyncpg.Connection) -> None:
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)"
        )
        applied = await connection.fetchval(
            "SELECT coalesce(max(version), 0) FROM schema_migrations"
        )
        for number, script in enumerate(MIGRATIONS[applied:], start=applied + 1):
            await connection.execute(script)
            await connection.execute("INSERT INTO schema_migrations (version) VALUES ($1)", number)
