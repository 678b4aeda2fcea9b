"""Admission on real storage: the one decision every way into a notebook asks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nbpresign.common import errors
from nbpresign.common.errors import ErrorCode, ServiceError
from nbpresign.server.api.authorization import Authorizer
from nbpresign.server.api.context import CallContext
from nbpresign.server.iam.identities import ACTIVE, AccessKey, Principal, User
from nbpresign.server.notebooks.admission import ADMITTED_AS, Admission
from nbpresign.server.notebooks.instance import IN_SERVICE, STOPPED, NotebookInstance
from nbpresign.server.notebooks.site import Site
from nbpresign.server.notebooks.urls import UrlTemplate
from nbpresign.server.storage import Storage
from nbpresign.server.storage.opening import open_storage

ALICE = Principal("arn:aws:iam::1:user/alice", "alice", "AKIAALICE")
SITE = Site("us-east-1", "1", UrlTemplate("http://{name}.localhost:{port}/", "us-east-1", 8080))
OFFICE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "sagemaker:CreatePresignedNotebookInstanceUrl",
            "Resource": "arn:aws:sagemaker:*:*:notebook-instance/nb",
            "Condition": {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}},
        }
    ],
}


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    store = await open_storage(None, tmp_path)
    await store.add_user(User("alice", 0.0))
    await store.add_access_key(AccessKey("AKIAALICE", "alice", b"sealed", ACTIVE, 0.0))
    await store.put_user_policy("alice", "office", json.dumps(OFFICE))
    await store.add_instance(NotebookInstance("nb", "http://127.0.0.1:9/", "t", IN_SERVICE, 0, 0))
    yield store
    await store.close()


def admission(storage: Storage) -> Admission:
    return Admission(storage, Authorizer(storage, lambda: 1e9), SITE)


def at(ip: str) -> CallContext:
    return CallContext(source_ip=ip, principal=ALICE)


async def incarnation(storage: Storage) -> str:
    instance = await storage.get_instance("nb")
    assert instance is not None
    return instance.incarnation


async def refused(storage: Storage, ctx: CallContext, key: str, inc: str) -> ErrorCode:
    with pytest.raises(ServiceError) as caught:
        await admission(storage).admit(ctx, key, inc)
    return caught.value.code


def test_reaching_a_notebook_is_authorized_as_minting_its_url() -> None:
    assert ADMITTED_AS.action == "sagemaker:CreatePresignedNotebookInstanceUrl"


async def test_admitted_from_the_office(storage: Storage) -> None:
    instance = await admission(storage).admit(at("192.0.2.9"), "nb", await incarnation(storage))
    assert instance.key == "nb"


async def test_each_refusal_in_the_apis_own_terms(storage: Storage) -> None:
    inc = await incarnation(storage)
    assert await refused(storage, at("198.51.100.1"), "nb", inc) is errors.ACCESS_DENIED
    assert await refused(storage, at("192.0.2.9"), "nb", "an-old-life") is errors.EXPIRED_TOKEN
    gone = CallContext(source_ip="192.0.2.9", principal=Principal(ALICE.arn, "alice", "AKIAGONE"))
    assert await refused(storage, gone, "nb", inc) is errors.UNRECOGNIZED_CLIENT
    assert await refused(storage, CallContext(source_ip="192.0.2.9"), "nb", inc) is (
        errors.MISSING_AUTHENTICATION
    )


async def test_a_stop_is_a_wrong_status_and_a_new_life(storage: Storage) -> None:
    before = await incarnation(storage)
    assert await storage.change_status("nb", allowed_from=[IN_SERVICE], to=STOPPED, now=1.0)
    assert await refused(storage, at("192.0.2.9"), "nb", await incarnation(storage)) is (
        errors.WRONG_STATUS
    )
    assert await storage.change_status("nb", allowed_from=[STOPPED], to=IN_SERVICE, now=2.0)
    after = await incarnation(storage)
    assert after != before
    assert await refused(storage, at("192.0.2.9"), "nb", before) is errors.EXPIRED_TOKEN


async def test_a_missing_instance_is_record_not_found(storage: Storage) -> None:
    anywhere = json.dumps(OFFICE).replace("notebook-instance/nb", "notebook-instance/*")
    await storage.put_user_policy("alice", "office", anywhere)
    assert await refused(storage, at("192.0.2.9"), "other", "") is errors.RECORD_NOT_FOUND
