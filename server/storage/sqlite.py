"""The embedded default: SQLite in the data directory, through aiosqlite."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from nbpresign.server.iam.identities import AccessKey, User
from nbpresign.server.instances import NotebookInstance
from nbpresign.server.storage.base import DuplicateInstance, DuplicateUser, InstanceQuery

DB_FILE_NAME = "nbpresign.sqlite3"

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
    """,
)

_COLUMNS = "name, jupyter_url, jupyter_token, status, creation_time, last_modified_time"

# Sort columns of InstanceQuery -> SQL columns; the key breaks ties, so pages are stable.
_SORT_SQL = {"name": "key", "creation_time": "creation_time", "status": "status"}


class SqliteStorage:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    @classmethod
    async def open(cls, data_dir: Path) -> SqliteStorage:
        path = data_dir / DB_FILE_NAME
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        db = await aiosqlite.connect(path)
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA busy_timeout=5000")
        await db.execute("PRAGMA foreign_keys=ON")
        await _migrate(db)
        return cls(db)

    async def close(self) -> None:
        await self._db.close()

    async def add_instance(self, instance: NotebookInstance) -> None:
        try:
            await self._db.execute(
                f"INSERT INTO notebook_instances (key, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (instance.key, *_row(instance)),
            )
            await self._db.commit()
        except sqlite3.IntegrityError as exc:
            raise DuplicateInstance(instance.key) from exc

    async def get_instance(self, key: str) -> NotebookInstance | None:
        async with self._db.execute(
            f"SELECT {_COLUMNS} FROM notebook_instances WHERE key = ?", (key,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else NotebookInstance(*row)

    async def list_instances(self, query: InstanceQuery) -> list[NotebookInstance]:
        where, params = _where(query)
        column = _SORT_SQL[query.sort_by]
        direction = "DESC" if query.descending else "ASC"
        sql = (
            f"SELECT {_COLUMNS} FROM notebook_instances {where} "
            f"ORDER BY {column} {direction}, key {direction} LIMIT ?"
        )
        async with self._db.execute(sql, (*params, query.limit)) as cursor:
            rows = await cursor.fetchall()
        return [NotebookInstance(*row) for row in rows]

    async def change_status(
        self, key: str, *, allowed_from: Collection[str], to: str, now: float
    ) -> bool:
        marks = ", ".join("?" for _ in allowed_from)
        cursor = await self._db.execute(
            "UPDATE notebook_instances SET status = ?, last_modified_time = ? "
            f"WHERE key = ? AND status IN ({marks})",
            (to, now, key, *allowed_from),
        )
        await self._db.commit()
        return cursor.rowcount == 1

    async def delete_instance(self, key: str, *, allowed_from: Collection[str]) -> bool:
        marks = ", ".join("?" for _ in allowed_from)
        cursor = await self._db.execute(
            f"DELETE FROM notebook_instances WHERE key = ? AND status IN ({marks})",
            (key, *allowed_from),
        )
        await self._db.commit()
        return cursor.rowcount == 1

    async def replace_upstream(
        self, key: str, *, jupyter_url: str, jupyter_token: str, now: float
    ) -> bool:
        cursor = await self._db.execute(
            "UPDATE notebook_instances SET jupyter_url = ?, jupyter_token = ?, "
            "last_modified_time = ? WHERE key = ?",
            (jupyter_url, jupyter_token, now, key),
        )
        await self._db.commit()
        return cursor.rowcount == 1

    async def redeem_once(self, token_id: str, *, expires_at: float, now: float) -> bool:
        await self._db.execute("DELETE FROM redeemed_tokens WHERE expires_at <= ?", (now,))
        cursor = await self._db.execute(
            "INSERT OR IGNORE INTO redeemed_tokens (token_id, expires_at) VALUES (?, ?)",
            (token_id, expires_at),
        )
        await self._db.commit()
        return cursor.rowcount == 1

    async def add_user(self, user: User) -> None:
        try:
            await self._write(
                "INSERT INTO users (name, creation_time) VALUES (?, ?)",
                (user.name, user.creation_time),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateUser(user.name) from exc

    async def get_user(self, name: str) -> User | None:
        rows = await self._read("SELECT name, creation_time FROM users WHERE name = ?", (name,))
        return User(*rows[0]) if rows else None

    async def list_users(self) -> list[User]:
        rows = await self._read("SELECT name, creation_time FROM users ORDER BY name", ())
        return [User(*row) for row in rows]

    async def delete_user(self, name: str) -> bool:
        return await self._write("DELETE FROM users WHERE name = ?", (name,)) == 1

    async def add_access_key(self, key: AccessKey) -> None:
        await self._write(
            f"INSERT INTO access_keys ({_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
            (key.key_id, key.user_name, key.sealed_secret, key.status, key.creation_time),
        )

    async def get_access_key(self, key_id: str) -> AccessKey | None:
        rows = await self._read(
            f"SELECT {_KEY_COLUMNS} FROM access_keys WHERE key_id = ?", (key_id,)
        )
        return AccessKey(*rows[0]) if rows else None

    async def list_access_keys(self, user_name: str) -> list[AccessKey]:
        rows = await self._read(
            f"SELECT {_KEY_COLUMNS} FROM access_keys WHERE user_name = ? ORDER BY creation_time",
            (user_name,),
        )
        return [AccessKey(*row) for row in rows]

    async def delete_access_key(self, user_name: str, key_id: str) -> bool:
        deleted = await self._write(
            "DELETE FROM access_keys WHERE user_name = ? AND key_id = ?", (user_name, key_id)
        )
        return deleted == 1

    async def put_user_policy(self, user_name: str, policy_name: str, document: str) -> None:
        await self._write(
            "INSERT INTO user_policies (user_name, policy_name, document) VALUES (?, ?, ?) "
            "ON CONFLICT (user_name, policy_name) DO UPDATE SET document = excluded.document",
            (user_name, policy_name, document),
        )

    async def list_user_policies(self, user_name: str) -> list[tuple[str, str]]:
        rows = await self._read(
            "SELECT policy_name, document FROM user_policies WHERE user_name = ? "
            "ORDER BY policy_name",
            (user_name,),
        )
        return [(str(name), str(document)) for name, document in rows]

    async def delete_user_policy(self, user_name: str, policy_name: str) -> bool:
        deleted = await self._write(
            "DELETE FROM user_policies WHERE user_name = ? AND policy_name = ?",
            (user_name, policy_name),
        )
        return deleted == 1

    async def _read(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        async with self._db.execute(sql, params) as cursor:
            return [tuple(row) for row in await cursor.fetchall()]

    async def _write(self, sql: str, params: tuple[object, ...]) -> int:
        cursor = await self._db.execute(sql, params)
        await self._db.commit()
        return int(cursor.rowcount)


_KEY_COLUMNS = "key_id, user_name, sealed_secret, status, creation_time"


def _row(i: NotebookInstance) -> tuple[str, str, str, str, float, float]:
    return (i.name, i.jupyter_url, i.jupyter_token, i.status, i.creation_time, i.last_modified_time)


def _where(query: InstanceQuery) -> tuple[str, list[object]]:
    clauses: list[str] = []
    params: list[object] = []
    filters: list[tuple[str, object | None]] = [
        ("instr(key, ?) > 0", query.name_contains.lower() if query.name_contains else None),
        ("status = ?", query.status_equals),
        ("creation_time < ?", query.created_before),
        ("creation_time > ?", query.created_after),
        ("last_modified_time < ?", query.modified_before),
        ("last_modified_time > ?", query.modified_after),
    ]
    for clause, value in filters:
        if value is not None:
            clauses.append(clause)
            params.append(value)
    if query.after is not None:
        column = _SORT_SQL[query.sort_by]
        op = "<" if query.descending else ">"
        clauses.append(f"({column}, key) {op} (?, ?)")
        params.extend([query.after.sort_value, query.after.key])
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


async def _migrate(db: aiosqlite.Connection) -> None:
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    version = int(row[0]) if row else 0
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        await db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
