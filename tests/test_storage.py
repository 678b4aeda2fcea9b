from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from nbpresign.server.iam.identities import ACTIVE, AccessKey, User
from nbpresign.server.notebooks.instance import IN_SERVICE, STOPPED, NotebookInstance
from nbpresign.server.storage import (
    Cursor,
    DuplicateInstance,
    DuplicateUser,
    InstanceQuery,
    Storage,
)
from nbpresign.server.storage.base import SortColumn
from nbpresign.server.storage.opening import open_storage
from nbpresign.server.storage.postgres import PostgresDatabase

from databases import BACKENDS, database_for


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
