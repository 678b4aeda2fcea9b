"""Malformed input over real sockets, byte for byte: a 4xx in AWS's terms, never a 500.

The session server's log is checked for tracebacks when the session ends (conftest.server).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest

from nbpresign.client import Client
from nbpresign.client.errors import NbpresignError

from conftest import Server, exchange, raw_request, sign_http, start_gateway

TARGET = b"SageMaker.ListNotebookInstances"


def key_id_only(
    server: Server, *, signed: bytes = b"host;x-amz-date;x-amz-target;x-custom"
) -> list[tuple[bytes, bytes]]:
    """Headers naming the admin's key id with a made-up signature: no secret needed."""
    now = datetime.now(UTC)
    key_id = server.identity.credentials.access_key.encode()
    scope = key_id + now.strftime("/%Y%m%d/us-east-1/sagemaker/aws4_request").encode()
    return [
        (b"Content-Type", b"application/x-amz-json-1.1"),
        (b"X-Amz-Target", TARGET),
        (b"X-Amz-Date", now.strftime("%Y%m%dT%H%M%SZ").encode()),
        (
            b"Authorization",
            b"AWS4-HMAC-SHA256 Credential="
            + scope
            + b", SignedHeaders="
            + signed
            + b", Signature="
            + b"0" * 64,
        ),
    ]


def answer(port: int, request: bytes) -> tuple[int, dict[str, Any]]:
    status, headers, body = exchange(port, request)
    assert headers["content-type"] == "application/x-amz-json-1.1"
    assert headers["x-amzn-requestid"]
    payload = json.loads(body)
    assert set(payload) == {"__type", "message"}
    return status, payload


def host_of(endpoint: str) -> bytes:
    return endpoint.split("//")[1].rstrip("/").encode()


@pytest.mark.parametrize("value", [b"caf\xe9", b"\xff\xfe", "café".encode()])
def test_a_signed_header_outside_ascii_is_refused(server: Server, value: bytes) -> None:
    headers = [*key_id_only(server), (b"X-Custom", value)]
    status, payload = answer(
        server.http_port, raw_request(host_of(server.endpoint), headers, b"{}")
    )
    assert (status, payload["__type"]) == (400, "InvalidSignatureException")
    assert "'x-custom'" in payload["message"]


@pytest.mark.parametrize("host", [b"[", b"]", b"[::1", b"[zz]:80", b"\xff", b"a/b"])
def test_a_bad_host_is_refused(server: Server, host: bytes) -> None:
    status, payload = answer(server.http_port, raw_request(host, key_id_only(server), b"{}"))
    assert (status, payload["__type"]) == (400, "InvalidSignatureException")
    assert payload["message"].startswith("The Host header must be a host name or address")


def test_an_authorization_outside_ascii_is_incomplete(server: Server) -> None:
    headers = [
        (name, value.replace(b"Credential=", b"Credential=\xff"))
        for name, value in key_id_only(server)
    ]
    status, payload = answer(
        server.http_port, raw_request(host_of(server.endpoint), headers, b"{}")
    )
    assert (status, payload["__type"]) == (400, "IncompleteSignature")


def signed_describe(
    server: Server, endpoint: str, name: str, extra: list[tuple[bytes, bytes]]
) -> bytes:
    """A DescribeNotebookInstance botocore signed for `endpoint`, plus unsigned `extra`."""
    body = json.dumps({"NotebookInstanceName": name}).encode()
    headers = sign_http(
        server.identity,
        endpoint,
        body,
        {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "SageMaker.DescribeNotebookInstance",
        },
    )
    encoded = [(k.encode(), v.encode()) for k, v in headers.items() if k.lower() != "host"]
    return raw_request(host_of(endpoint), [*encoded, *extra], body)


@pytest.fixture
def remote_gateway(server: Server) -> Iterator[str]:
    gateway = start_gateway(server.grpc_target, server.identity)
    yield gateway.endpoint
    assert "Traceback" not in gateway.stop()


def test_an_unsigned_header_outside_utf8_does_not_matter(
    server: Server, remote_gateway: str, registered: str
) -> None:
    # A gateway apart from the core forwards every header in a proto string (UTF-8 only).
    for endpoint in (server.endpoint + "/", remote_gateway):
        port = int(endpoint.rstrip("/").rsplit(":", 1)[1])
        request = signed_describe(server, endpoint, registered, [(b"X-Other", b"\xff\xfe")])
        status, _, body = exchange(port, request)
        assert status == 200, body
        assert json.loads(body)["NotebookInstanceName"] == registered


def test_a_remote_gateway_refuses_what_the_core_refuses(
    server: Server, remote_gateway: str
) -> None:
    answers = []
    for endpoint in (server.endpoint + "/", remote_gateway):
        port = int(endpoint.rstrip("/").rsplit(":", 1)[1])
        host = host_of(endpoint)
        for request in (
            raw_request(host, [*key_id_only(server), (b"X-Custom", b"\xff")], b"{}"),
            raw_request(b"[", key_id_only(server), b"{}"),
        ):
            status, payload = answer(port, request)
            answers.append((endpoint, status, payload["__type"], payload["message"]))
    local, remote = answers[:2], answers[2:]
    assert [a[1:] for a in local] == [a[1:] for a in remote]
    assert [a[1] for a in local] == [400, 400]


def signed_call(server: Server, target: str, body: bytes) -> bytes:
    """A request botocore signed with the admin's key, for any body bytes."""
    headers = sign_http(
        server.identity,
        server.endpoint + "/",
        body,
        {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"SageMaker.{target}"},
    )
    encoded = [(k.encode(), v.encode()) for k, v in headers.items() if k.lower() != "host"]
    return raw_request(host_of(server.endpoint), encoded, body)


@pytest.mark.parametrize("levels", [33, 1001, 30_000])
def test_deep_json_is_a_serialization_error(server: Server, levels: int) -> None:
    body = b'{"NameContains": ' + b"[" * levels + b"]" * levels + b"}"
    status, payload = answer(server.http_port, signed_call(server, "ListNotebookInstances", body))
    assert (status, payload["__type"]) == (400, "SerializationException")
    assert payload["message"] == "The request body nests deeper than 32 levels."


@pytest.mark.parametrize(
    ("target", "body", "member"),
    [
        (
            "RegisterNotebookInstance",
            {
                "NotebookInstanceName": "nul-token",
                "JupyterServerUrl": "http://127.0.0.1:9/",
                "JupyterToken": "a\0b",
            },
            "jupyterToken",
        ),
        ("ListNotebookInstances", {"NextToken": "\0"}, "nextToken"),
        ("ListNotebookInstances", {"NameContains": "a\0"}, "nameContains"),
    ],
)
def test_null_characters_are_refused_over_json(
    server: Server, target: str, body: dict[str, str], member: str
) -> None:
    request = signed_call(server, target, json.dumps(body).encode())
    status, payload = answer(server.http_port, request)
    assert (status, payload["__type"]) == (400, "ValidationException")
    assert (
        f"at '{member}' failed to satisfy constraint: Member must not contain null characters"
        in payload["message"]
    )


def test_a_null_character_in_the_resource_name_is_refused(server: Server) -> None:
    # Authorization runs first and looks the instance up (its tags are condition keys), so
    # the name meets storage, which refuses what it cannot store, before the constraints.
    body = json.dumps({"NotebookInstanceName": "a\0"}).encode()
    status, payload = answer(
        server.http_port, signed_call(server, "DescribeNotebookInstance", body)
    )
    assert (status, payload["__type"]) == (400, "ValidationException")


def test_null_characters_are_refused_over_grpc(server: Server) -> None:
    with (
        Client(server.grpc_target, identity=server.identity) as client,
        pytest.raises(NbpresignError) as caught,
    ):
        client.register_notebook_instance("nul-grpc", "http://127.0.0.1:9/", "a\0b")
    assert caught.value.grpc_code == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.code == "ValidationException"
    assert [v.field for v in caught.value.violations] == ["jupyter_token"]


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        b64(b"[" * 5000),
        b64(b'["name:asc", {"deep": [[[]]]}, "k"]'),
        b64(b'["name:asc", 1' + b"0" * 5000 + b', "k"]'),
        b64(b'["name:asc", "nb", 7]'),
        "not base64!",
    ],
)
def test_a_made_up_next_token_is_invalid(server: Server, token: str) -> None:
    body = json.dumps({"NextToken": token}).encode()
    status, payload = answer(server.http_port, signed_call(server, "ListNotebookInstances", body))
    assert (status, payload) == (
        400,
        {"__type": "ValidationException", "message": "Invalid pagination token"},
    )
