from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import asyncpg
import pytest

from nbpresign.server.iam.identities import ACTIVE, AccessKey, User
from nbpresign.server.notebooks.instance import IN_SERVICE, STOPPED, NotebookInstance
from nbpresign.server.storage import (
    RESYNC,
    Cursor,
    DuplicateInstance,
    DuplicateUser,
    InstanceQuery,
    InvalidText,
    SortColumn,
    Storage,
    StorageError,
    StorageUnavailable,
    postgres,
    sqlite,
)
from nbpresign.server.storage.opening import open_storage
from nbpresign.server.storage.postgres import PostgresDatabase

from databases import BACKENDS, database_for
from pgcluster import Cluster, private_cluster


def instance(name: str, created: float, status: str = IN_SERVICE) -> NotebookInstance:
    return NotebookInstance(name, "http://127.0.0.1:8888/", "secret", status, created, created)


@pytest.fixture(params=BACKENDS)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    async with database_for(request.param) as url:
        store = await open_storage(url, tmp_path)
        yield store
        await store.close()


async def count_redeemed(storage: Storage) -> list[str]:
    return [row[0] for row in await storage._db.fetch("SELECT token_id FROM redeemed_tokens")]


async def test_add_get_and_case_insensitive_uniqueness(storage: Storage) -> None:
    await storage.add_instance(instance("MyNb", 1.0))
    found = await storage.get_instance("mynb")
    assert found is not None
    assert found.name == "MyNb"
    with pytest.raises(DuplicateInstance):
        await storage.add_instance(instance("MYNB", 2.0))


async def test_conditional_status_change_and_delete(storage: Storage) -> None:
    await storage.add_instance(instance("a", 1.0))
    assert not await storage.delete_instance("a", allowed_from=[STOPPED])
    assert await storage.change_status("a", allowed_from=[IN_SERVICE], to=STOPPED, now=5.0)
    assert not await storage.change_status("a", allowed_from=[IN_SERVICE], to=STOPPED, now=6.0)
    stopped = await storage.get_instance("a")
    assert stopped is not None
    assert (stopped.status, stopped.last_modified_time) == (STOPPED, 5.0)
    assert await storage.delete_instance("a", allowed_from=[STOPPED])
    assert await storage.get_instance("a") is None


async def test_keyset_pages_cover_everything_once(storage: Storage) -> None:
    # Equal creation times and statuses: the key breaks ties, so nothing repeats or drops.
    for i in range(7):
        await storage.add_instance(
            instance(f"nb-{i}", float(i // 3), STOPPED if i % 2 else IN_SERVICE)
        )
    sorts: tuple[SortColumn, ...] = ("name", "creation_time", "status")
    for sort_by in sorts:
        for descending in (False, True):
            seen: list[str] = []
            after = None
            while True:
                query = InstanceQuery(limit=2, sort_by=sort_by, descending=descending, after=after)
                page = await storage.list_instances(query)
                if not page:
                    break
                seen.extend(i.key for i in page)
                last = page[-1]
                values: dict[str, str | float] = {
                    "name": last.key,
                    "creation_time": last.creation_time,
                    "status": last.status,
                }
                value = values[sort_by]
                after = Cursor(value, last.key)
            assert sorted(seen) == [f"nb-{i}" for i in range(7)], (sort_by, descending)
            assert len(seen) == 7


async def test_filters(storage: Storage) -> None:
    await storage.add_instance(instance("Alpha", 10.0))
    await storage.add_instance(instance("beta", 20.0, STOPPED))
    await storage.add_instance(instance("alphabet", 30.0))

    async def names(**filters: object) -> list[str]:
        return [i.name for i in await storage.list_instances(InstanceQuery(limit=10, **filters))]  # type: ignore[arg-type]

    assert await names(name_contains="ALPHA") == ["Alpha", "alphabet"]
    assert await names(status_equals=STOPPED) == ["beta"]
    assert await names(created_after=10.0, created_before=30.0) == ["beta"]
    assert await names(modified_before=20.0) == ["Alpha"]
    assert await names(name_contains="%") == []  # not a LIKE pattern


@pytest.mark.parametrize("backend", BACKENDS)
async def test_data_survives_reopening(tmp_path: Path, backend: str) -> None:
    async with database_for(backend) as url:
        first = await open_storage(url, tmp_path)
        await first.add_instance(instance("kept", 1.0))
        await first.close()
        second = await open_storage(url, tmp_path)  # migrations run again: a no-op
        assert await second.get_instance("kept") is not None
        await second.close()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_replicas_starting_at_once_migrate_once(tmp_path: Path, backend: str) -> None:
    async with database_for(backend) as url:
        opened = await asyncio.gather(*(open_storage(url, tmp_path) for _ in range(4)))
        await opened[0].add_instance(instance("shared", 1.0))
        assert all([await s.get_instance("shared") is not None for s in opened])
        for store in opened:
            await store.close()


async def test_users_keys_and_policies(storage: Storage) -> None:
    await storage.add_user(User("alice", 1.0))
    with pytest.raises(DuplicateUser):
        await storage.add_user(User("alice", 2.0))
    await storage.add_access_key(AccessKey("AKIA1", "alice", b"sealed", ACTIVE, 1.0))
    await storage.put_user_policy("alice", "p", '{"a": 1}')
    await storage.put_user_policy("alice", "p", '{"a": 2}')  # replaces
    assert await storage.list_user_policies("alice") == [("p", '{"a": 2}')]
    key = await storage.get_access_key("AKIA1")
    assert key is not None
    assert key.sealed_secret == b"sealed"
    assert await storage.delete_user("alice")
    assert await storage.get_access_key("AKIA1") is None  # keys and policies go with the user
    assert await storage.list_user_policies("alice") == []


async def test_signing_keys_and_shared_secrets(storage: Storage) -> None:
    await storage.add_signing_key("k1", b"one", 1.0)
    await storage.add_signing_key("k2", b"two", 2.0)
    assert [kid for kid, _, _ in await storage.signing_keys()] == ["k1", "k2"]
    first = await storage.shared_secret("master", b"A")
    assert await storage.shared_secret("master", b"B") == first == b"A"


async def test_events_reach_subscribers(storage: Storage) -> None:
    seen: list[str] = []
    arrived = asyncio.Event()

    async def handler(event: str) -> None:
        seen.append(event)
        arrived.set()

    storage.subscribe(handler)
    await storage.publish("instance:nb")
    await asyncio.wait_for(arrived.wait(), timeout=10)
    assert seen == ["instance:nb"]


async def test_a_token_is_redeemed_once(storage: Storage) -> None:
    assert await storage.redeem_once("t1", expires_at=100.0, now=10.0)
    assert not await storage.redeem_once("t1", expires_at=100.0, now=11.0)


async def test_racing_redemptions_have_one_winner(storage: Storage) -> None:
    results = await asyncio.gather(
        *(storage.redeem_once("race", expires_at=100.0, now=1.0) for _ in range(10))
    )
    assert results.count(True) == 1


async def test_expired_redemption_records_are_purged(storage: Storage) -> None:
    await storage.redeem_once("old", expires_at=50.0, now=10.0)
    await storage.redeem_once("new", expires_at=500.0, now=60.0)  # purges what expired by 60
    assert await count_redeemed(storage) == ["new"]


async def test_replace_upstream(storage: Storage) -> None:
    await storage.add_instance(instance("demo", 1.0))
    assert await storage.replace_upstream(
        "demo", jupyter_url="http://127.0.0.1:9/", jupyter_token="t2", now=5.0
    )
    moved = await storage.get_instance("demo")
    assert moved is not None
    assert (moved.jupyter_url, moved.jupyter_token, moved.last_modified_time) == (
        "http://127.0.0.1:9/",
        "t2",
        5.0,
    )
    assert not await storage.replace_upstream("absent", jupyter_url="x", jupyter_token="", now=5.0)


async def every_kind_of_call(storage: Storage, tag: str) -> None:
    """One of each storage call: reads, writes, the transactions inside, events."""
    await storage.add_instance(instance(f"nb-{tag}", 1.0))
    await storage.get_instance(f"nb-{tag}")
    await storage.list_instances(InstanceQuery(limit=5))
    await storage.change_status(f"nb-{tag}", allowed_from=[IN_SERVICE], to=STOPPED, now=2.0)
    await storage.replace_upstream(
        f"nb-{tag}", jupyter_url="http://127.0.0.1:9/", jupyter_token="t", now=3.0
    )
    await storage.delete_instance(f"nb-{tag}", allowed_from=[STOPPED])
    await storage.redeem_once(f"t-{tag}", expires_at=100.0, now=10.0)
    await storage.add_user(User(f"u-{tag}", 1.0))
    await storage.add_access_key(AccessKey(f"AKIA{tag}", f"u-{tag}", b"s", ACTIVE, 1.0))
    await storage.get_access_key(f"AKIA{tag}")
    await storage.put_user_policy(f"u-{tag}", "p", "{}")
    await storage.list_user_policies(f"u-{tag}")
    await storage.add_signing_key(f"k-{tag}", b"key", 1.0)
    await storage.signing_keys()
    await storage.shared_secret("master", b"A")
    await storage.publish(f"instance:nb-{tag}")
    await storage.delete_user(f"u-{tag}")


SESSION_STATE = {
    "settings": "SELECT count(*) FROM pg_settings WHERE source = 'session'",
    "listening": "SELECT count(*) FROM pg_listening_channels()",
    "advisory locks": "SELECT count(*) FROM pg_locks "
    "WHERE locktype = 'advisory' AND pid = pg_backend_pid()",
    "cursors": "SELECT count(*) FROM pg_cursors",
    "transaction": "SELECT count(*) FROM pg_stat_activity "
    "WHERE pid = pg_backend_pid() AND backend_xid IS NOT NULL",
}


async def session_state(connection: asyncpg.Connection) -> dict[str, int]:
    return {name: await connection.fetchval(query) for name, query in SESSION_STATE.items()}


async def test_pooled_postgresql_connections_keep_no_session_state(tmp_path: Path) -> None:
    # The pool skips asyncpg's reset query on release (postgres._keep_session), which is
    # right only while no call leaves session state behind on a pooled connection.
    async with database_for("postgresql") as url:
        assert url is not None
        storage = await open_storage(url, tmp_path)
        try:
            assert isinstance(storage._db, PostgresDatabase)
            await asyncio.gather(*(every_kind_of_call(storage, str(n)) for n in range(4)))
            fresh = await asyncpg.connect(url)
            try:
                baseline = await session_state(fresh)  # a query's own portal is a cursor
            finally:
                await fresh.close()
            pool = storage._db._pool
            held = [await pool.acquire() for _ in range(pool.get_size())]
            try:
                assert len(held) > 1  # the calls ran on several connections
                for connection in held:
                    assert await session_state(connection) == baseline
            finally:
                for connection in held:
                    await pool.release(connection)
        finally:
            await storage.close()


async def test_a_nested_transaction_rolls_back_alone(storage: Storage) -> None:
    insert = "INSERT INTO users (name, creation_time) VALUES ($1, 1.0)"
    async with storage._db.transaction() as tx:
        await tx.execute(insert, "outer")
        with pytest.raises(RuntimeError):
            async with tx.transaction() as inner:
                await inner.execute(insert, "inner")
                raise RuntimeError("only the savepoint goes")
    assert [user.name for user in await storage.list_users()] == ["outer"]


async def test_bad_sql_is_a_storage_error_not_an_outage(storage: Storage) -> None:
    with pytest.raises(StorageError) as raised:
        await storage._db.fetch("SELECT * FROM no_such_table")
    assert not isinstance(raised.value, StorageUnavailable)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_closed_storage_is_unavailable(tmp_path: Path, backend: str) -> None:
    async with database_for(backend) as url:
        storage = await open_storage(url, tmp_path)
        await storage.close()
        with pytest.raises(StorageUnavailable):
            await storage.get_instance("nb")


async def test_sqlite_transactions_keep_other_coroutines_out(tmp_path: Path) -> None:
    # One connection for every coroutine: a statement run while another coroutine's
    # transaction is open (and awaiting) would be part of it, and roll back with it.
    storage = await open_storage(None, tmp_path)
    order: list[str] = []
    began = asyncio.Event()

    async def rolled_back() -> None:
        with pytest.raises(RuntimeError):
            async with storage._db.transaction() as tx:
                await tx.execute("INSERT INTO users (name, creation_time) VALUES ('in', 1.0)")
                began.set()
                await asyncio.sleep(0.2)  # the outsider runs meanwhile
                order.append("rolled back")
                raise RuntimeError("roll back")

    async def outsider() -> None:
        await began.wait()
        assert await storage.get_user("in") is None  # never sees the uncommitted row
        await storage.add_user(User("outsider", 2.0))
        order.append("outsider wrote")

    try:
        await asyncio.gather(rolled_back(), outsider())
        assert order == ["rolled back", "outsider wrote"]
        assert [user.name for user in await storage.list_users()] == ["outsider"]
    finally:
        await storage.close()


async def test_sqlite_locked_by_another_process_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite, "BUSY_TIMEOUT_SECONDS", 0.2)
    storage = await open_storage(None, tmp_path)
    other = sqlite3.connect(tmp_path / sqlite.DB_FILE_NAME, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # as another worker process writing
        with pytest.raises(StorageUnavailable, match="locked"):
            await storage.add_user(User("alice", 1.0))
        other.execute("ROLLBACK")
        await storage.add_user(User("alice", 1.0))
    finally:
        other.close()
        await storage.close()


async def test_nul_in_text_on_postgresql_is_invalid_text(tmp_path: Path) -> None:
    async with database_for("postgresql") as url:
        storage = await open_storage(url, tmp_path)
        try:
            with pytest.raises(InvalidText):
                await storage.get_instance("nb\x00")
            with pytest.raises(ValueError):  # InvalidText is one: the input is at fault
                await storage.add_user(User("alice\x00", 1.0))
            assert await storage.list_users() == []  # and the connection still answers
        finally:
            await storage.close()


# What main created before the schema was written once (commit 2e2f0d5), and how each
# dialect recorded it: SQLite three steps in PRAGMA user_version, PostgreSQL one
# schema_migrations row.
MAIN_SQLITE_SCHEMA = """
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
    CREATE TABLE redeemed_tokens (
        token_id TEXT PRIMARY KEY,
        expires_at REAL NOT NULL
    );
    CREATE INDEX redeemed_tokens_expiry ON redeemed_tokens (expires_at);
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
    PRAGMA user_version = 3;
"""
# PostgreSQL's script was the same statements with its own type names, in one step.
MAIN_POSTGRESQL_SCHEMA = (
    MAIN_SQLITE_SCHEMA.replace("REAL", "DOUBLE PRECISION")  # noqa: S608 (constants only)
    .replace("BLOB", "BYTEA")
    .replace("PRAGMA user_version = 3;", "")
    + """
    CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY);
    INSERT INTO schema_migrations (version) VALUES (1);
"""
)
MAIN_ROWS = [
    (
        "INSERT INTO notebook_instances VALUES ($1, $2, 'http://127.0.0.1:8888/', 't', $3, 1.0, 2.0)",
        ("oldnb", "OldNb", IN_SERVICE),
    ),
    ("INSERT INTO users VALUES ($1, 1.0)", ("alice",)),
    ("INSERT INTO access_keys VALUES ($1, $2, $3, $4, 1.0)", ("AKIAOLD", "alice", b"s", ACTIVE)),
    ("INSERT INTO user_policies VALUES ($1, $2, $3)", ("alice", "p", "{}")),
    ("INSERT INTO signing_keys VALUES ($1, $2, 1.0)", ("k1", b"key")),
    ("INSERT INTO shared_secrets VALUES ($1, $2)", ("master-key", b"M")),
    ("INSERT INTO redeemed_tokens VALUES ($1, 100.0)", ("used",)),
]


async def create_as_main(backend: str, url: str | None, data_dir: Path) -> None:
    if backend == "sqlite":
        with contextlib.closing(sqlite3.connect(data_dir / sqlite.DB_FILE_NAME)) as db, db:
            db.executescript(MAIN_SQLITE_SCHEMA)
            for sql, args in MAIN_ROWS:
                db.execute(re.sub(r"\$\d+", "?", sql), args)
        return
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(MAIN_POSTGRESQL_SCHEMA)
        for sql, args in MAIN_ROWS:
            await connection.execute(sql, *args)
    finally:
        await connection.close()


async def describe_schema(storage: Storage) -> list[tuple[object, ...]]:
    """Tables, columns with their types, indexes, constraints and the version bookkeeping."""
    db = storage._db
    if db.dialect == "sqlite":
        rows = await db.fetch("SELECT type, name, sql FROM sqlite_master ORDER BY name")
        described = [(kind, name, " ".join((sql or "").split())) for kind, name, sql in rows]
        return [*described, ("user_version", await db.fetchval("PRAGMA user_version"))]
    queries = [
        "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = 'public'::regnamespace ORDER BY 1",
        "SELECT 'version', version FROM schema_migrations ORDER BY version",
    ]
    return [tuple(row) for query in queries for row in await db.fetch(query)]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_database_created_by_main_opens_with_its_data(tmp_path: Path, backend: str) -> None:
    async with database_for(backend) as old_url, database_for(backend) as new_url:
        (tmp_path / "old").mkdir()
        (tmp_path / "new").mkdir()
        await create_as_main(backend, old_url, tmp_path / "old")
        old = await open_storage(old_url, tmp_path / "old")
        new = await open_storage(new_url, tmp_path / "new")
        try:
            kept = await old.get_instance("oldnb")
            assert kept is not None
            assert (kept.name, kept.status, kept.last_modified_time) == ("OldNb", IN_SERVICE, 2.0)
            key = await old.get_access_key("AKIAOLD")
            assert key is not None
            assert (key.user_name, key.sealed_secret) == ("alice", b"s")
            assert await old.list_user_policies("alice") == [("p", "{}")]
            alice = await old.get_user("alice")  # migration 4 gave her an IAM-style id
            assert alice is not None
            assert re.fullmatch(r"AIDA[0-9A-F]{17}", alice.user_id)
            assert await old.signing_keys() == [("k1", b"key", 1.0)]
            assert await old.shared_secret("master-key", b"other") == b"M"
            assert not await old.redeem_once("used", expires_at=100.0, now=1.0)
            # The schema written once is the one each dialect had, bookkeeping included.
            assert await describe_schema(old) == await describe_schema(new)
        finally:
            await old.close()
            await new.close()


# Outages, on a private cluster each test may stop or freeze (tests/pgcluster.py).
OUTAGE_TIMEOUT = 2.0


@contextlib.asynccontextmanager
async def storage_on_private_cluster(data_dir: Path) -> AsyncIterator[tuple[Storage, Cluster]]:
    with private_cluster() as cluster:
        storage = await open_storage(cluster.url, data_dir, call_timeout=OUTAGE_TIMEOUT)
        try:
            await storage.add_instance(instance("kept", 1.0))
            yield storage, cluster
        finally:
            await storage.close()


async def unavailable_within(seconds: float, call: Awaitable[object]) -> float:
    """How long `call` took to raise StorageUnavailable; at most `seconds`."""
    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        await asyncio.wait_for(call, seconds + 5)  # a hang fails the test, not the run
    elapsed = time.monotonic() - started
    assert elapsed < seconds
    return elapsed


async def test_a_stopped_postgresql_is_unavailable_until_it_starts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with storage_on_private_cluster(tmp_path) as (storage, cluster):
        await asyncio.to_thread(cluster.stop)
        await unavailable_within(OUTAGE_TIMEOUT + 1, storage.get_instance("kept"))
        await unavailable_within(OUTAGE_TIMEOUT + 1, storage.redeem_once("t", expires_at=9, now=1))
        await asyncio.to_thread(cluster.start)
        assert await storage.get_instance("kept") is not None  # the same storage, not reopened
        assert await storage.redeem_once("t", expires_at=9, now=1)
    assert not [record for record in caplog.records if record.exc_info]  # an outage: no traceback


async def test_a_frozen_postgresql_is_unavailable_after_the_timeout(tmp_path: Path) -> None:
    async with storage_on_private_cluster(tmp_path) as (storage, cluster):
        cluster.freeze()  # SIGSTOP: connections stay open, and nothing answers on them
        try:
            # A pooled connection: the statement's command_timeout; then a new one: connecting.
            waited = await unavailable_within(OUTAGE_TIMEOUT + 1, storage.get_instance("kept"))
            assert waited > OUTAGE_TIMEOUT - 0.5  # it waited for the database, not refused
            await unavailable_within(
                OUTAGE_TIMEOUT + 1, storage.redeem_once("t", expires_at=9, now=1)
            )
        finally:
            cluster.thaw()
        assert await storage.get_instance("kept") is not None


async def test_the_listener_reconnects_after_a_restart_and_resyncs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=postgres.__name__)
    async with storage_on_private_cluster(tmp_path) as (storage, cluster):
        events: asyncio.Queue[str] = asyncio.Queue()
        storage.subscribe(events.put)
        await asyncio.to_thread(cluster.stop)
        await asyncio.sleep(3)  # down long enough for a few failed reconnections
        await asyncio.to_thread(cluster.start)
        assert await asyncio.wait_for(events.get(), 30) == RESYNC
        await storage.publish("instance:after")  # sent after the restart: it arrives
        assert await asyncio.wait_for(events.get(), 10) == "instance:after"
        logged = [
            (r.levelname, r.getMessage()) for r in caplog.records if r.name == postgres.__name__
        ]
        assert [message for level, message in logged if level == "WARNING"] == [
            "lost the PostgreSQL listener: events wait until it reconnects"
        ]
        assert sum("reconnected" in message for _, message in logged) == 1
        assert 1 <= sum("failed" in message for _, message in logged) <= postgres.LOGGED_ATTEMPTS
        assert not [record for record in caplog.records if record.exc_info]  # no traceback
