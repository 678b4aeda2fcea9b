"""Chooses the backend: PostgreSQL for a postgresql:// URL, else SQLite in the data directory;
brings its schema up to date."""

from __future__ import annotations

from pathlib import Path

from nbpresign.server.storage import schema
from nbpresign.server.storage.database import Database
from nbpresign.server.storage.postgres import DEFAULT_TIMEOUT, PostgresDatabase
from nbpresign.server.storage.sqlite import SqliteDatabase
from nbpresign.server.storage.storage import Storage

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


async def open_storage(
    db: str | None, data_dir: Path, *, call_timeout: float = DEFAULT_TIMEOUT
) -> Storage:
    """`call_timeout`: the longest any PostgreSQL wait may take, opening included (SQLite
    waits for another process's lock for sqlite.BUSY_TIMEOUT_SECONDS)."""
    database: Database
    if db is not None and db.startswith(POSTGRES_SCHEMES):
        database = await PostgresDatabase.open(db, call_timeout=call_timeout)
    elif db is not None:
        raise ValueError(f"--db takes a postgresql:// URL, not {db.split(':', 1)[0]!r}")
    else:
        database = await SqliteDatabase.open(data_dir)
    try:
        await schema.migrate(database)
    except BaseException:
        await database.close()
        raise
    return Storage(database)
