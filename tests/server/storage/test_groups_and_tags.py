"""Groups, memberships, group policies and tags, on both backends; and a user's whole
access read in one query."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nbpresign.server.iam.identities import Group, User
from nbpresign.server.notebooks.instance import IN_SERVICE, STOPPED, NotebookInstance
from nbpresign.server.storage import DuplicateGroup, DuplicateInstance, Storage
from nbpresign.server.storage.opening import open_storage

from databases import BACKENDS, database_for


@pytest.fixture(params=BACKENDS)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    async with database_for(request.param) as url:
        store = await open_storage(url, tmp_path)
        yield store
        await store.close()


def instance(name: str, status: str = IN_SERVICE) -> NotebookInstance:
    return NotebookInstance(name, "http://127.0.0.1:8888/", "t", status, 1.0, 1.0)


async def test_users_and_groups_get_iam_style_ids(storage: Storage) -> None:
    await storage.add_user(User("alice", 1.0))
    await storage.add_group(Group("ds", 2.0))
    alice, ds = await storage.get_user("alice"), await storage.get_group("ds")
    assert alice is not None and ds is not None
    assert alice.user_id.startswith("AIDA") and len(alice.user_id) == 21
    assert ds.group_id.startswith("AGPA") and len(ds.group_id) == 21
    with pytest.raises(DuplicateGroup):
        await storage.add_group(Group("ds", 3.0))


async def test_membership_and_group_policies(storage: Storage) -> None:
    for name in ("alice", "bob"):
        await storage.add_user(User(name, 1.0))
    await storage.add_group(Group("ds", 1.0))
    await storage.add_group(Group("ops", 1.0))
    await storage.add_group_member("ds", "bob")
    await storage.add_group_member("ds", "alice")
    await storage.add_group_member("ds", "alice")  # again: no change, no error
    await storage.add_group_member("ops", "alice")
    assert [u.name for u in await storage.group_members("ds")] == ["alice", "bob"]
    assert [g.name for g in await storage.groups_of("alice")] == ["ds", "ops"]
    await storage.put_group_policy("ds", "b", "{1}")
    await storage.put_group_policy("ds", "a", "{2}")
    await storage.put_group_policy("ds", "a", "{3}")  # replaces
    assert await storage.group_policy_names("ds") == ["a", "b"]
    assert await storage.get_group_policy("ds", "a") == "{3}"
    assert await storage.get_group_policy("ds", "missing") is None
    assert await storage.remove_group_member("ds", "bob")
    assert not await storage.remove_group_member("ds", "bob")
    assert await storage.delete_group_policy("ds", "b")
    assert not await storage.delete_group_policy("ds", "b")


async def test_a_group_is_deleted_only_when_empty(storage: Storage) -> None:
    await storage.add_user(User("alice", 1.0))
    await storage.add_group(Group("ds", 1.0))
    await storage.add_group_member("ds", "alice")
    await storage.put_group_policy("ds", "p", "{}")
    assert not await storage.delete_group_if_empty("ds")  # members and a policy
    assert await storage.remove_group_member("ds", "alice")
    assert not await storage.delete_group_if_empty("ds")  # still a policy
    assert await storage.delete_group_policy("ds", "p")
    assert await storage.delete_group_if_empty("ds")
    assert await storage.get_group("ds") is None


async def test_access_of_reads_own_and_group_policies_and_tags(storage: Storage) -> None:
    await storage.add_user(User("alice", 1.0, user_id="AIDAEXAMPLE0000000001"))
    await storage.add_user(User("bob", 1.0))
    await storage.put_user_policy("alice", "own", "{own}")
    await storage.put_user_policy("bob", "own", "{bob}")
    for group in ("ds", "ops", "other"):
        await storage.add_group(Group(group, 1.0))
        await storage.put_group_policy(group, "p", "{" + group + "}")
    await storage.add_group_member("ds", "alice")
    await storage.add_group_member("ops", "alice")
    await storage.tag_user("alice", [("Team", "nlp")])
    access = await storage.access_of("alice")
    assert access is not None
    assert access.user_id == "AIDAEXAMPLE0000000001"
    assert sorted(access.documents) == ["{ds}", "{ops}", "{own}"]
    assert access.tags == (("Team", "nlp"),)
    assert await storage.access_of("nobody") is None
    bob = await storage.access_of("bob")
    assert bob is not None and bob.documents == ("{bob}",) and bob.tags == ()


async def test_user_tag_keys_are_unique_ignoring_case(storage: Storage) -> None:
    await storage.add_user(User("alice", 1.0))
    await storage.tag_user("alice", [("team", "a"), ("Cost", "1")])
    await storage.tag_user("alice", [("Team", "b")])  # IAM: replaces "team"
    assert await storage.user_tags("alice") == [("Cost", "1"), ("Team", "b")]
    await storage.untag_user("alice", ["COST", "absent"])
    assert await storage.user_tags("alice") == [("Team", "b")]


async def test_instance_tags_are_case_sensitive_and_paged(storage: Storage) -> None:
    await storage.add_instance(instance("nb"), [("b", "1"), ("a", "2")])
    await storage.tag_instance("nb", [("A", "3"), ("a", "4"), ("données", "é")])
    everything = await storage.instance_tags("nb")
    assert dict(everything) == {"A": "3", "a": "4", "b": "1", "données": "é"}
    first = await storage.instance_tags("nb", limit=2)
    rest = await storage.instance_tags("nb", after=first[-1][0])
    assert first + rest == everything
    await storage.untag_instance("nb", ["A", "b", "absent"])
    assert dict(await storage.instance_tags("nb")) == {"a": "4", "données": "é"}


async def test_an_instance_and_its_tags_are_added_together(storage: Storage) -> None:
    await storage.add_instance(instance("nb"), [("team", "ds")])
    with pytest.raises(DuplicateInstance):
        await storage.add_instance(instance("NB"), [("team", "other")])
    assert await storage.instance_tags("nb") == [("team", "ds")]


async def test_deleting_removes_memberships_and_tags(storage: Storage) -> None:
    await storage.add_user(User("alice", 1.0))
    await storage.add_group(Group("ds", 1.0))
    await storage.add_group_member("ds", "alice")
    await storage.tag_user("alice", [("team", "ds")])
    await storage.add_instance(instance("nb", STOPPED), [("team", "ds")])
    assert await storage.delete_user("alice")
    assert await storage.group_members("ds") == []
    assert await storage.delete_group_if_empty("ds")  # the membership went with the user
    await storage.add_user(User("alice", 2.0))  # the same name again starts untagged
    assert await storage.user_tags("alice") == []
    assert await storage.delete_instance("nb", allowed_from=[STOPPED])
    await storage.add_instance(instance("nb"))
    assert await storage.instance_tags("nb") == []
