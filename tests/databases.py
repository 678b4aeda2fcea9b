"""PostgreSQL for tests: a fresh database per test, on the server CI and developers run
(127.0.0.1:5432, trust auth; NBPRESIGN_TEST_PG overrides the admin URL)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg

ADMIN_URL = os.environ.get("NBPRESIGN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


async def create_database() -> str:
    """A new, empty database; returns its URL."""
    name = f"nbpresign_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


async def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    url = await create_database()
    try:
        yield url
    finally:
        await drop_database(url)


@contextlib.asynccontextmanager
async def database_for(backend: str) -> AsyncIterator[str | None]:
    """None for SQLite (the data directory), else the URL of a fresh PostgreSQL database."""
    if backend == "sqlite":
        yield None
        return
    async with fresh_database() as url:
        yield url
