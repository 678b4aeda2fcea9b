"""The embedded default: SQLite in the data directory.

Queries run on the event loop's own thread, with the standard sqlite3 module: they read
a local file, mostly from SQLite's page cache, in microseconds, and a hop to a worker
thread (aiosqlite's way) cost more than the query itself (see bench/README.md). A write
that must wait for another process's lock (several --workers) waits at most
BUSY_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

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

DB_FILE_NAME = "nbpresign.sqlite3"
BUSY_TIMEOUT_SECONDS = 5.0

# Schema versions, applied in order; PRAGMA user_version records how many ran.
MIGRATIONS: Sequence[str] = (
    """
    CREATE TABLE notebook_instances (
        key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        jupyter_url TEXT NOT NULL,
        jupyter_token TEXT NOT NULL,
        status TEXT NOT NULL,
        creation_time REAL NOT NULL,
        last_modified_time REAL NOT NULL
    );
    CREATE INDEX notebook_instances_creation ON notebook_instances (creation_time, key);
    CREATE INDEX notebook_instances_status ON notebook_instances (status, key);
    """,
    """
    CREATE TABLE redeemed_tokens (
        token_id TEXT PRIMARY KEY,
        expires_at REAL NOT NULL
    );
    CREATE INDEX redeemed_tokens_expiry ON redeemed_tokens (expires_at);
    """,
    """
    CREATE TABLE users (
        name TEXT PRIMARY KEY,
        creation_time REAL NOT NULL
    );
    CREATE TABLE access_keys (
        key_id TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
        sealed_secret BLOB NOT NULL,
        status TEXT NOT NULL,
        creation_time REAL NOT NULL
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
        sealed_key BLOB NOT NULL,
        creation_time REAL NOT NULL
    );
    CREATE TABLE shared_secrets (
        name TEXT PRIMARY KEY,
        value BLOB NOT NULL
    );
    """,
)


class SqliteStorage:
    """One process's storage. Events reach this process's subscribers only (several
    `--workers` on one SQLite file rely on the proxy's periodic re-check instead)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._subscribers: list[EventHandler] = []

    @classmethod
    async def open(cls, data_dir: Path) -> SqliteStorage:
        path = data_dir / DB_FILE_NAME
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        # timeout: how long to wait for another process's lock (workers, replicas);
        # isolation_level=None: each statement commits, unless a BEGIN says otherwise.
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        _migrate(db)
        return cls(db)

    async def close(self) -> None:
        self._db.close()

    async def add_instance(self, instance: NotebookInstance) -> None:
        try:
            self._write(queries.insert_instance(lambda n: "?"), instance_row(instance))
        except sqlite3.IntegrityError as exc:
            raise DuplicateInstance(instance.key) from exc

    async def get_instance(self, key: str) -> NotebookInstance | None:
        rows = self._read(
            f"SELECT {INSTANCE_COLUMNS} FROM notebook_instances WHERE key = ?", (key,)
        )
        return NotebookInstance(*rows[0]) if rows else None

    async def list_instances(self, query: InstanceQuery) -> list[NotebookInstance]:
        sql, params = queries.list_instances(
            query, mark=lambda n: "?", contains="instr(key, {}) > 0"
        )
        return [NotebookInstance(*row) for row in self._read(sql, tuple(params))]

    async def change_status(
        self, key: str, *, allowed_from: Collection[str], to: str, now: float
    ) -> bool:
        marks = ", ".join("?" for _ in allowed_from)
        changed = self._write(
            "UPDATE notebook_instances SET status = ?, last_modified_time = ? "
            f"WHERE key = ? AND status IN ({marks})",
            (to, now, key, *allowed_from),
        )
        return changed == 1

    async def delete_instance(self, key: str, *, allowed_from: Collection[str]) -> bool:
        marks = ", ".join("?" for _ in allowed_from)
        deleted = self._write(
            f"DELETE FROM notebook_instances WHERE key = ? AND status IN ({marks})",
            (key, *allowed_from),
        )
        return deleted == 1

    async def replace_upstream(
        self, key: str, *, jupyter_url: str, jupyter_token: str, now: float
    ) -> bool:
        changed = self._write(
            "UPDATE notebook_instances SET jupyter_url = ?, jupyter_token = ?, "
            "last_modified_time = ? WHERE key = ?",
            (jupyter_url, jupyter_token, now, key),
        )
        return changed == 1

    async def redeem_once(self, token_id: str, *, expires_at: float, now: float) -> bool:
        self._write("DELETE FROM redeemed_tokens WHERE expires_at <= ?", (now,))
        inserted = self._write(
            "INSERT OR IGNORE INTO redeemed_tokens (token_id, expires_at) VALUES (?, ?)",
            (token_id, expires_at),
        )
        return inserted == 1

    async def add_user(self, user: User) -> None:
        try:
            self._write(
                "INSERT INTO users (name, creation_time) VALUES (?, ?)",
                (user.name, user.creation_time),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateUser(user.name) from exc

    async def get_user(self, name: str) -> User | None:
        rows = self._read("SELECT name, creation_time FROM users WHERE name = ?", (name,))
        return User(*rows[0]) if rows else None

    async def list_users(self) -> list[User]:
        rows = self._read("SELECT name, creation_time FROM users ORDER BY name", ())
        return [User(*row) for row in rows]

    async def delete_user(self, name: str) -> bool:
        return self._write("DELETE FROM users WHERE name = ?", (name,)) == 1

    async def add_access_key(self, key: AccessKey) -> None:
        self._write(
            f"INSERT INTO access_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
            (key.key_id, key.user_name, key.sealed_secret, key.status, key.creation_time),
        )

    async def get_access_key(self, key_id: str) -> AccessKey | None:
        rows = self._read(f"SELECT {KEY_COLUMNS} FROM access_keys WHERE key_id = ?", (key_id,))
        return AccessKey(*rows[0]) if rows else None

    async def list_access_keys(self, user_name: str) -> list[AccessKey]:
        rows = self._read(
            f"SELECT {KEY_COLUMNS} FROM access_keys WHERE user_name = ? ORDER BY creation_time",
            (user_name,),
        )
        return [AccessKey(*row) for row in rows]

    async def delete_access_key(self, user_name: str, key_id: str) -> bool:
        deleted = self._write(
            "DELETE FROM access_keys WHERE user_name = ? AND key_id = ?", (user_name, key_id)
        )
        return deleted == 1

    async def put_user_policy(self, user_name: str, policy_name: str, document: str) -> None:
        self._write(
            "INSERT INTO user_policies (user_name, policy_name, document) VALUES (?, ?, ?) "
            "ON CONFLICT (user_name, policy_name) DO UPDATE SET document = excluded.document",
            (user_name, policy_name, document),
        )

    async def list_user_policies(self, user_name: str) -> list[tuple[str, str]]:
        rows = self._read(
            "SELECT policy_name, document FROM user_policies WHERE user_name = ? "
            "ORDER BY policy_name",
            (user_name,),
        )
        return [(str(name), str(document)) for name, document in rows]

    async def delete_user_policy(self, user_name: str, policy_name: str) -> bool:
        deleted = self._write(
            "DELETE FROM user_policies WHERE user_name = ? AND policy_name = ?",
            (user_name, policy_name),
        )
        return deleted == 1

    async def signing_keys(self) -> list[tuple[str, bytes, float]]:
        rows = self._read(
            "SELECT kid, sealed_key, creation_time FROM signing_keys ORDER BY creation_time, kid",
            (),
        )
        return [(str(kid), bytes(key), float(created)) for kid, key, created in rows]

    async def add_signing_key(self, kid: str, sealed_key: bytes, creation_time: float) -> None:
        self._write(
            "INSERT INTO signing_keys (kid, sealed_key, creation_time) VALUES (?, ?, ?)",
            (kid, sealed_key, creation_time),
        )

    async def shared_secret(self, name: str, candidate: bytes) -> bytes:
        self._write(
            "INSERT OR IGNORE INTO shared_secrets (name, value) VALUES (?, ?)", (name, candidate)
        )
        rows = self._read("SELECT value FROM shared_secrets WHERE name = ?", (name,))
        return bytes(rows[0][0])

    async def publish(self, event: str) -> None:
        for handler in self._subscribers:
            await handler(event)

    def subscribe(self, handler: EventHandler) -> None:
        self._subscribers.append(handler)

    def _read(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._db.execute(sql, params).fetchall()]

    def _write(self, sql: str, params: tuple[object, ...]) -> int:
        return int(self._db.execute(sql, params).rowcount)


def _migrate(db: sqlite3.Connection) -> None:
    """Applies what is missing, inside one write transaction: processes that start at
    once take turns, and each sees what the one before it applied."""
    db.execute("BEGIN IMMEDIATE")
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in filter(str.strip, script.split(";")):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
