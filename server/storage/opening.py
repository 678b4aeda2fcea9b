"""Chooses the backend: PostgreSQL for a postgresql:// URL, else SQLite in the data directory."""

from __future__ import annotations

from pathlib import Path

from nbpresign.server.storage.base import Storage
from nbpresign.server.storage.postgres import PostgresStorage
from nbpresign.server.storage.sqlite import SqliteStorage

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


async def open_storage(db: str | None, data_dir: Path) -> Storage:
    if db is not None and db.startswith(POSTGRES_SCHEMES):
        return await PostgresStorage.open(db)
    if db is not None:
        raise ValueError(f"--db takes a postgresql:// URL, not {db.split(':', 1)[0]!r}")
    return await SqliteStorage.open(data_dir)
