"""The authorizer on real storage: policies, the context it builds, and key liveness."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nbpresign.common import errors
from nbpresign.common.errors import ServiceError
from nbpresign.server.api.authorization import Authorizer, authorize_with, resource_arn
from nbpresign.server.api.context import CallContext
from nbpresign.server.api.methods import method_named
from nbpresign.server.iam.identities import ACTIVE, AccessKey, Principal, User
from nbpresign.server.iam.policy import Decision
from nbpresign.server.notebooks.site import Site
from nbpresign.server.notebooks.urls import UrlTemplate
from nbpresign.server.storage import Storage
from nbpresign.server.storage.opening import open_storage
from nbpresign.v1 import iam_pb2, presign_pb2

PRESIGN = method_named("CreatePresignedNotebookInstanceUrl")
ALICE = Principal("arn:aws:iam::123456789012:user/alice", "alice", "AKIAALICE")
SITE = Site(
    "us-east-1", "123456789012", UrlTemplate("http://{name}.localhost:{port}/", "us-east-1", 8080)
)
NOW = 1_800_000_000.0


def policy(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    store = await open_storage(None, tmp_path)
    await store.add_user(User("alice", 0.0))
    await store.add_access_key(AccessKey("AKIAALICE", "alice", b"sealed", ACTIVE, 0.0))
    yield store
    await store.close()


def ctx(ip: str = "192.0.2.10", *, secure: bool = False) -> CallContext:
    return CallContext(source_ip=ip, principal=ALICE, secure_transport=secure)


async def test_nothing_attached_is_an_implicit_deny(storage: Storage) -> None:
    decision = await Authorizer(storage, lambda: NOW).decide(
        ALICE, PRESIGN.action, "*", source_ip="192.0.2.10", secure=False
    )
    assert decision is Decision.IMPLICIT_DENY


async def test_the_context_carries_the_request_keys(storage: Storage) -> None:
    await storage.put_user_policy(
        "alice",
        "p",
        policy(
            {
                "Effect": "Allow",
                "Action": "sagemaker:*",
                "Resource": "*",
                "Condition": {
                    "IpAddress": {"aws:SourceIp": "192.0.2.0/24"},
                    "Bool": {"aws:SecureTransport": "true"},
                    "StringEquals": {"aws:username": "alice", "aws:PrincipalType": "User"},
                    "ArnEquals": {"aws:PrincipalArn": ALICE.arn},
                    "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"},
                },
            }
        ),
    )
    authorizer = Authorizer(storage, lambda: NOW)
    await authorizer.check(ALICE, PRESIGN.action, "*", ctx(secure=True))
    with pytest.raises(ServiceError) as insecure:
        await authorizer.check(ALICE, PRESIGN.action, "*", ctx(secure=False))
    assert insecure.value.code is errors.ACCESS_DENIED
    with pytest.raises(ServiceError):
        await authorizer.check(ALICE, PRESIGN.action, "*", ctx("198.51.100.1", secure=True))


async def test_refusals_use_aws_wording(storage: Storage) -> None:
    await storage.put_user_policy(
        "alice", "deny", policy({"Effect": "Deny", "Action": "sagemaker:*", "Resource": "*"})
    )
    with pytest.raises(ServiceError) as caught:
        await Authorizer(storage, lambda: NOW).check(ALICE, PRESIGN.action, "arn:x", ctx())
    assert caught.value.message == (
        f"User: {ALICE.arn} is not authorized to perform: {PRESIGN.action} "
        "on resource: arn:x with an explicit deny"
    )


async def test_a_policy_change_applies_to_the_next_decision(storage: Storage) -> None:
    authorizer = Authorizer(storage, lambda: NOW)
    allow = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    await storage.put_user_policy("alice", "p", allow)
    await authorizer.check(ALICE, PRESIGN.action, "*", ctx())
    await storage.delete_user_policy("alice", "p")
    with pytest.raises(ServiceError):
        await authorizer.check(ALICE, PRESIGN.action, "*", ctx())


@pytest.mark.parametrize(
    "principal",
    [
        Principal(ALICE.arn, "alice", "AKIAGONE"),  # deleted key
        Principal("arn:aws:iam::123456789012:user/mallory", "mallory", "AKIAALICE"),  # not theirs
    ],
)
async def test_check_key_refuses_a_key_that_no_longer_stands(
    storage: Storage, principal: Principal
) -> None:
    with pytest.raises(ServiceError) as caught:
        await Authorizer(storage, lambda: NOW).check_key(principal)
    assert caught.value.code is errors.UNRECOGNIZED_CLIENT


async def test_check_key_accepts_the_live_key(storage: Storage) -> None:
    await Authorizer(storage, lambda: NOW).check_key(ALICE)


def test_resource_arns_come_from_the_method_table() -> None:
    presign = presign_pb2.CreatePresignedNotebookInstanceUrlRequest(notebook_instance_name="MyNb")
    assert resource_arn(SITE, PRESIGN, presign) == (
        "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/mynb"
    )
    create_user = iam_pb2.CreateUserRequest(user_name="bob")
    assert resource_arn(SITE, method_named("CreateUser"), create_user) == (
        "arn:aws:iam::123456789012:user/bob"
    )
    assert resource_arn(SITE, method_named("ListNotebookInstances"), presign) == "*"


async def test_the_interceptor_refuses_an_anonymous_call(storage: Storage) -> None:
    interceptor = authorize_with(Authorizer(storage, lambda: NOW), SITE)
    reached: list[object] = []

    async def handler(request: object, context: object) -> object:
        reached.append(request)
        return request

    request = presign_pb2.CreatePresignedNotebookInstanceUrlRequest(notebook_instance_name="nb")
    with pytest.raises(ServiceError) as caught:
        await interceptor(PRESIGN, request, CallContext(source_ip="1.2.3.4"), handler)  # type: ignore[arg-type]
    assert caught.value.code is errors.MISSING_AUTHENTICATION
    assert reached == []
