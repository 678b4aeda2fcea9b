"""Where the master key comes from: the variable, the data directory, or the database."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from nbpresign.server.iam.sealing import MASTER_KEY_ENV, SecretBox
from nbpresign.server.process.assembly import master_key
from nbpresign.server.process.settings import Settings
from nbpresign.server.storage.opening import open_storage

from databases import BACKENDS, database_for


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_variable_wins(
    tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = Fernet.generate_key()
    monkeypatch.setenv(MASTER_KEY_ENV, chosen.decode())
    async with database_for(backend) as db:
        storage = await open_storage(db, tmp_path)
        try:
            assert await master_key(Settings(data_dir=tmp_path, db=db), storage) == chosen
        finally:
            await storage.close()
    assert not (tmp_path / "master.key").exists()


async def test_sqlite_keeps_it_in_a_private_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    storage = await open_storage(None, tmp_path)
    try:
        first = await master_key(Settings(data_dir=tmp_path), storage)
        assert await master_key(Settings(data_dir=tmp_path), storage) == first
    finally:
        await storage.close()
    assert stat.S_IMODE((tmp_path / "master.key").stat().st_mode) == 0o600
    SecretBox(first).open(SecretBox(first).seal("x"))  # a usable Fernet key


async def test_replicas_without_the_variable_share_one_from_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    async with database_for("postgresql") as db:
        a, b = await open_storage(db, tmp_path / "a"), await open_storage(db, tmp_path / "b")
        try:
            key_a = await master_key(Settings(data_dir=tmp_path / "a", db=db), a)
            key_b = await master_key(Settings(data_dir=tmp_path / "b", db=db), b)
        finally:
            await a.close()
            await b.close()
    assert key_a == key_b
