"""Login profiles, console sessions and sign-in failures, on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nbpresign.server.iam.identities import User
from nbpresign.server.iam.login_profiles import LoginProfile
from nbpresign.server.storage import ConsoleSession, DuplicateLoginProfile, Storage
from nbpresign.server.storage.opening import open_storage

from databases import BACKENDS, database_for


@pytest.fixture(params=BACKENDS)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    async with database_for(request.param) as url:
        store = await open_storage(url, tmp_path)
        yield store
        await store.close()


def profile(user: str = "alice", profile_id: str = "LOGIN-1") -> LoginProfile:
    return LoginProfile(user, profile_id, "scrypt$hash", True, 100.0)


def session(id_hash: str, profile_id: str = "LOGIN-1", at: float = 100.0) -> ConsoleSession:
    return ConsoleSession(id_hash, profile_id, "alice", "csrf", at, at)


async def test_a_login_profile_is_kept_updated_and_deleted(storage: Storage) -> None:
    await storage.add_user(User("alice", 1.0))
    await storage.add_login_profile(profile())
    with pytest.raises(DuplicateLoginProfile):
        await storage.add_login_profile(profile(profile_id="LOGIN-2"))
    assert await storage.get_login_profile("alice") == profile()
    assert await storage.get_login_profile_by_id("LOGIN-1") == profile()
    assert await storage.update_login_profile("alice", password_hash=None, reset_required=False)
    changed = await storage.get_login_profile("alice")
    assert changed is not None
    assert (changed.password_hash, changed.reset_required) == ("scrypt$hash", False)
    assert await storage.update_login_profile("alice", password_hash="new", reset_required=None)
    changed = await storage.get_login_profile("alice")
    assert changed is not None
    assert (changed.password_hash, changed.reset_required) == ("new", False)
    assert not await storage.update_login_profile("bob", password_hash="x", reset_required=None)
    assert await storage.delete_login_profile("alice")
    assert not await storage.delete_login_profile("alice")


async def test_sessions_expire_and_end_with_their_profile_or_user(storage: Storage) -> None:
    await storage.add_user(User("alice", 1.0))
    await storage.add_login_profile(profile())
    await storage.add_console_session(session("a"))
    await storage.add_console_session(session("b"))
    live = await storage.touch_console_session("a", idle_since=50, absolute_since=0, now=150)
    assert live is not None and live.last_seen == 150
    # Idle since 120: "b" (last seen at 100) is gone, "a" (150) stays.
    assert (
        await storage.touch_console_session("b", idle_since=120, absolute_since=0, now=160) is None
    )
    assert await storage.touch_console_session("a", idle_since=120, absolute_since=0, now=160)
    # Created at or before 100: "a" is too old, however recently used.
    await storage.add_console_session(session("old", at=90))
    assert (
        await storage.touch_console_session("old", idle_since=0, absolute_since=95, now=170) is None
    )
    assert await storage.touch_console_session("a", idle_since=0, absolute_since=95, now=170)
    await storage.delete_login_profile("alice")
    assert await storage.touch_console_session("a", idle_since=0, absolute_since=0, now=201) is None
    await storage.add_login_profile(profile(profile_id="LOGIN-3"))
    await storage.add_console_session(session("c", "LOGIN-3"))
    await storage.delete_user("alice")
    assert await storage.touch_console_session("c", idle_since=0, absolute_since=0, now=202) is None


async def test_failures_count_then_are_forgotten(storage: Storage) -> None:
    assert await storage.sign_in_failures("user:alice", since=0) == (0, 0.0)
    assert await storage.record_sign_in_failure("user:alice", since=0, now=10) == 1
    assert await storage.record_sign_in_failure("user:alice", since=0, now=20) == 2
    assert await storage.sign_in_failures("user:alice", since=0) == (2, 20.0)
    assert await storage.sign_in_failures("user:alice", since=20) == (0, 0.0)
    # The last failure older than `since`: the count starts over.
    assert await storage.record_sign_in_failure("user:alice", since=25, now=30) == 1
    await storage.clear_sign_in_failures("user:alice")
    assert await storage.sign_in_failures("user:alice", since=0) == (0, 0.0)
