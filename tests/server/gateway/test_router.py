"""The tables built from the proto descriptors: every RPC is routed (X-Amz-Target, REST)
and implemented."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from nbpresign.common import errors
from nbpresign.common.errors import ServiceError
from nbpresign.server.api import core
from nbpresign.server.api.methods import AWS_JSON_METHODS, METHODS, HttpBinding, method_named
from nbpresign.server.api.pagination import PageTokens
from nbpresign.server.gateway import router
from nbpresign.server.gateway.errors import MethodNotAllowed
from nbpresign.server.iam.sealing import SecretBox
from nbpresign.server.notebooks import signing_keys
from nbpresign.server.notebooks.site import Site
from nbpresign.server.notebooks.urls import UrlTemplate
from nbpresign.server.services.gateway import GatewayService
from nbpresign.server.services.iam import IamService, LoginProfiles
from nbpresign.server.services.presign import PresignService
from nbpresign.server.services.registry import NotebookInstanceService

EXPECTED = {
    "CreatePresignedNotebookInstanceUrl",
    "RegisterNotebookInstance",
    "DescribeNotebookInstance",
    "ListNotebookInstances",
    "StartNotebookInstance",
    "StopNotebookInstance",
    "DeleteNotebookInstance",
    "AddTags",
    "ListTags",
    "DeleteTags",
}


def test_every_sagemaker_rpc_has_a_target() -> None:
    routes = router.build_routes(AWS_JSON_METHODS)
    assert set(routes) == {f"SageMaker.{name}" for name in EXPECTED}
    assert routes["SageMaker.CreatePresignedNotebookInstanceUrl"].path == (
        "/nbpresign.v1.PresignService/CreatePresignedNotebookInstanceUrl"
    )


def test_unknown_target() -> None:
    with pytest.raises(ServiceError) as caught:
        targets = router.Router(router.build_routes(AWS_JSON_METHODS), ())
        targets.resolve("POST", "/", {"X-Amz-Target": "SageMaker.Nope"})
    assert caught.value.code.aws == "UnknownOperationException"


def test_every_rpc_is_implemented(tmp_path: Path) -> None:
    site = Site(
        "us-east-1",
        "000000000000",
        UrlTemplate("http://{name}.localhost:{port}/", "us-east-1", 8080),
    )
    ring = signing_keys.new_key_ring()
    storage: Any = None  # never used: only the method table is built
    implementations = [
        PresignService(storage, site, lambda: ring, float),
        NotebookInstanceService(storage, site, float, PageTokens(b"k" * 32)),
        IamService(storage, SecretBox(Fernet.generate_key()), site.account_id, float),
        LoginProfiles(storage, float),
        GatewayService(storage),
    ]
    table = core.handler_table(METHODS, implementations)
    assert set(table) == {m.path for m in METHODS}


def test_a_missing_implementation_fails_at_start_up() -> None:
    with pytest.raises(LookupError, match="CreatePresignedNotebookInstanceUrl"):
        core.handler_table(METHODS, [])


REST = router.Router(router.build_routes(AWS_JSON_METHODS), router.build_rest(METHODS))


@pytest.mark.parametrize(
    ("verb", "path", "rpc", "variables"),
    [
        (
            "POST",
            "/v1/notebook-instances/nb:createPresignedUrl",
            "CreatePresignedNotebookInstanceUrl",
            {"notebook_instance_name": "nb"},
        ),
        ("POST", "/v1/notebook-instances", "RegisterNotebookInstance", {}),
        ("GET", "/v1/notebook-instances", "ListNotebookInstances", {}),
        (
            "GET",
            "/v1/notebook-instances/nb",
            "DescribeNotebookInstance",
            {"notebook_instance_name": "nb"},
        ),
        (
            "DELETE",
            "/v1/notebook-instances/nb",
            "DeleteNotebookInstance",
            {"notebook_instance_name": "nb"},
        ),
        (
            "POST",
            "/v1/notebook-instances/nb:start",
            "StartNotebookInstance",
            {"notebook_instance_name": "nb"},
        ),
        (
            "POST",
            "/v1/notebook-instances/nb:stop",
            "StopNotebookInstance",
            {"notebook_instance_name": "nb"},
        ),
        ("GET", "/v1/users", "ListUsers", {}),
        (
            "DELETE",
            "/v1/users/alice/access-keys/AKIA1",
            "DeleteAccessKey",
            {"user_name": "alice", "access_key_id": "AKIA1"},
        ),
        (
            "PUT",
            "/v1/users/a%40b/policies/p",
            "PutUserPolicy",
            {"user_name": "a@b", "policy_name": "p"},
        ),
    ],
)
def test_rest_routes(verb: str, path: str, rpc: str, variables: dict[str, str]) -> None:
    match = REST.resolve(verb, path, {})
    assert (match.method.name, dict(match.variables), match.dialect) == (
        rpc,
        variables,
        "application/json",
    )


def test_every_rpc_but_the_gateways_own_has_a_rest_route() -> None:
    routed = {route.method.name for route in router.build_rest(METHODS)}
    assert {m.name for m in METHODS} - routed == {"AuthenticateRequest"}


def test_unknown_rest_path_is_no_route() -> None:
    with pytest.raises(ServiceError) as caught:
        REST.resolve("GET", "/v1/elsewhere", {})
    assert caught.value.code == errors.NO_ROUTE


def test_known_path_wrong_method_is_405_with_allow() -> None:
    with pytest.raises(MethodNotAllowed) as caught:
        REST.resolve("PUT", "/v1/notebook-instances/nb", {})
    assert caught.value.code == errors.METHOD_NOT_ALLOWED
    assert caught.value.allowed == ("DELETE", "GET")


@pytest.mark.parametrize(
    ("path", "headers", "dialect"),
    [
        ("/", {}, "application/x-amz-json-1.1"),
        ("/v1/users", {"X-Amz-Target": "SageMaker.ListUsers"}, "application/x-amz-json-1.1"),
        ("/v1/users", {}, "application/json"),
        ("/elsewhere", {}, "application/json"),
    ],
)
def test_the_dialect_is_chosen_before_routing(
    path: str, headers: dict[str, str], dialect: str
) -> None:
    assert REST.dialect(path, headers) == dialect


@pytest.mark.parametrize(
    ("binding", "complaint"),
    [
        (HttpBinding("GET", "/v1/{nope}", "", ""), "has no field nope"),
        (HttpBinding("POST", "/v1/x", "notebook_instance_name", ""), "must be a message field"),
        (HttpBinding("GET", "/v1/x", "", "authorized_url"), "must be a message field"),
        (HttpBinding("GET", "v1/x", "", ""), "starts with '/'"),
    ],
)
def test_bad_rules_fail_at_start_up(binding: HttpBinding, complaint: str) -> None:
    presign = method_named("CreatePresignedNotebookInstanceUrl")
    with pytest.raises(ValueError, match=complaint):
        router.build_rest([dataclasses.replace(presign, http=(binding,))])


def test_two_rules_on_one_route_fail_at_start_up() -> None:
    presign = method_named("CreatePresignedNotebookInstanceUrl")
    twice = dataclasses.replace(presign, http=presign.http * 2)
    with pytest.raises(ValueError, match="two rules share"):
        router.build_rest([twice])
