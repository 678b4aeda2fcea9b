"""The gateway's handler over a real socket, for an RPC the gateway has never heard of.

A service is declared here, in a descriptor, with HTTP rules; the router serves it from
those rules alone (no gateway code), and a transport that answers each request with the
request itself shows what the gateway read from the path, the query and the body.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import RawTestServer
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.message import Message

from nbpresign.common.errors import ServiceError
from nbpresign.server.api.context import CallContext
from nbpresign.server.api.methods import Method, methods_of
from nbpresign.server.auth.sigv4 import SignedRequest
from nbpresign.server.gateway import router
from nbpresign.server.gateway.app import build_api
from nbpresign.server.iam.identities import Principal
from nbpresign.v1 import authz_pb2

_T = descriptor_pb2.FieldDescriptorProto


def _field(
    name: str, number: int, kind: _T.Type.ValueType, *, repeated: bool = False, type_name: str = ""
) -> _T:
    label = _T.LABEL_REPEATED if repeated else _T.LABEL_OPTIONAL
    json_name = "".join(part.capitalize() for part in name.split("_"))
    field = _T(name=name, number=number, type=kind, label=label, json_name=json_name)
    if type_name:
        field.type_name = type_name
    return field


def _declare_echo_service() -> Any:
    file = descriptor_pb2.FileDescriptorProto(
        name="nbpresign_test/echo.proto",
        package="nbpresign.test.v1",
        syntax="proto3",
        dependency=[
            "google/api/annotations.proto",
            "google/protobuf/timestamp.proto",
            "nbpresign/v1/authz.proto",
        ],
    )
    file.message_type.add(
        name="Filter",
        field=[
            _field("status", 1, _T.TYPE_STRING),
            _field("tags", 2, _T.TYPE_STRING, repeated=True),
        ],
    )
    file.message_type.add(
        name="EchoRequest",
        field=[
            _field("name", 1, _T.TYPE_STRING),
            _field("count", 2, _T.TYPE_INT32),
            _field("labels", 3, _T.TYPE_STRING, repeated=True),
            _field("filter", 4, _T.TYPE_MESSAGE, type_name=".nbpresign.test.v1.Filter"),
            _field("flag", 5, _T.TYPE_BOOL),
            _field("at", 6, _T.TYPE_MESSAGE, type_name=".google.protobuf.Timestamp"),
        ],
    )
    service = file.service.add(name="EchoService")
    service.options.Extensions[authz_pb2.action_prefix] = "test"
    rpc = service.method.add(
        name="Echo",
        input_type=".nbpresign.test.v1.EchoRequest",
        output_type=".nbpresign.test.v1.EchoRequest",
    )
    rule = http_pb2.HttpRule(get="/v1/things/{name}")
    rule.additional_bindings.add(post="/v1/things/{name}:echo", body="*")
    rule.additional_bindings.add(put="/v1/things/{name}/filter", body="filter")
    rule.additional_bindings.add(get="/v1/things/{name}/filter", response_body="filter")
    rpc.options.Extensions[annotations_pb2.http].CopyFrom(rule)
    pool = descriptor_pool.Default()
    try:
        pool.FindFileByName(file.name)
    except KeyError:
        pool.Add(file)
    return pool.FindServiceByName("nbpresign.test.v1.EchoService")


(ECHO,) = methods_of((_declare_echo_service(),))


class EchoTransport:
    """Answers every call with its request: what the gateway read is what comes back."""

    async def authenticate(self, request: SignedRequest) -> Principal:
        return Principal("arn:aws:iam::000000000000:user/t", "t", "AKIDTEST")

    async def call(self, method: Method, request: Message, ctx: CallContext) -> Message:
        if getattr(request, "name", "") == "boom":
            raise RuntimeError("a bug")
        return request


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    handler = build_api(router.Router({}, router.build_rest([ECHO])), EchoTransport())
    async with RawTestServer(handler) as server:
        yield str(server.make_url(""))


async def call(
    url: str, verb: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, dict[str, str], Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(verb, url + path, data=body, headers=headers) as response,
    ):
        return response.status, dict(response.headers), await response.json(content_type=None)


async def test_path_and_query(base_url: str) -> None:
    status, headers, body = await call(
        base_url,
        "GET",
        "/v1/things/a%20b?count=3&labels=x&labels=y&filter.status=s&Flag=true&at=2026-01-02T03:04:05Z",
    )
    assert status == 200, body
    assert headers["Content-Type"].startswith("application/json")
    assert headers["x-amzn-RequestId"]
    assert body == {
        "Name": "a b",
        "Count": 3,
        "Labels": ["x", "y"],
        "Filter": {"Status": "s", "Tags": []},
        "Flag": True,
        "At": "2026-01-02T03:04:05Z",
    }


async def test_unpopulated_fields_are_sent(base_url: str) -> None:
    _, _, body = await call(base_url, "GET", "/v1/things/n")
    assert body == {"Name": "n", "Count": 0, "Labels": [], "Flag": False}


async def test_body_star(base_url: str) -> None:
    status, _, body = await call(
        base_url, "POST", "/v1/things/n:echo", b'{"Count": 2, "labels": ["z"]}',
        **{"Content-Type": "application/json"},
    )  # fmt: skip
    assert status == 200, body
    assert (body["Name"], body["Count"], body["Labels"]) == ("n", 2, ["z"])


async def test_body_field_and_the_rest_from_the_query(base_url: str) -> None:
    status, _, body = await call(
        base_url, "PUT", "/v1/things/n/filter?count=5", b'{"Status": "s", "Tags": ["t"]}'
    )
    assert status == 200, body
    assert (body["Count"], body["Filter"]) == (5, {"Status": "s", "Tags": ["t"]})


async def test_response_body(base_url: str) -> None:
    status, _, body = await call(base_url, "GET", "/v1/things/n/filter?filter.status=s")
    assert (status, body) == (200, {"Status": "s", "Tags": []})


@pytest.mark.parametrize(
    ("verb", "path", "body", "complaint"),
    [
        ("POST", "/v1/things/n:echo", b'{"Name": "other"}', "'name' is given by the path"),
        ("POST", "/v1/things/n:echo?count=1", b"{}", "given by the path or the body"),
        ("PUT", "/v1/things/n/filter?filter.status=x", b"{}", "given by the path or the body"),
        ("GET", "/v1/things/n?name=x", None, "given by the path or the body"),
        ("GET", "/v1/things/n", b'{"Count": 1}', "takes no request body"),
        ("GET", "/v1/things/n?nope=1", None, "Unknown parameter 'nope'"),
        ("GET", "/v1/things/n?count=many", None, "bad value"),
        ("POST", "/v1/things/n:echo", b'{"Count": "x"}', "could not be read"),
        ("POST", "/v1/things/n:echo", b"[1]", "must be a JSON object"),
    ],
)
async def test_bad_requests_are_status_json(
    base_url: str, verb: str, path: str, body: bytes | None, complaint: str
) -> None:
    status, headers, payload = await call(base_url, verb, path, body)
    assert status == 400
    assert headers["x-amzn-RequestId"]
    assert payload["code"] == 3  # INVALID_ARGUMENT
    assert complaint in payload["message"]
    assert payload["details"][0]["reason"] == "SerializationException"


async def test_a_body_is_json_whatever_its_content_type(base_url: str) -> None:
    # As grpc-gateway's default marshaler reads it: curl -d sends a form content type.
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, payload = await call(base_url, "POST", "/v1/things/n:echo", b'{"Count": 1}', **form)
    assert (status, payload["Count"]) == (200, 1)


async def test_no_route_and_wrong_method(base_url: str) -> None:
    status, headers, payload = await call(base_url, "GET", "/v1/nothing")
    assert (status, payload["code"]) == (404, 5)
    assert headers["x-amzn-RequestId"]
    status, headers, payload = await call(base_url, "DELETE", "/v1/things/n")
    assert (status, payload["code"]) == (405, 12)
    assert headers["Allow"] == "GET"


async def test_the_aws_dialect_answers_in_aws_json(base_url: str) -> None:
    status, headers, payload = await call(
        base_url, "POST", "/", b"{}", **{"X-Amz-Target": "SageMaker.Echo"}
    )
    assert (status, payload["__type"]) == (400, "UnknownOperationException")
    assert headers["x-amzn-RequestId"]


async def test_a_bug_is_logged_and_answers_internal(
    base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        status, headers, payload = await call(base_url, "GET", "/v1/things/boom")
    assert (status, payload["code"]) == (500, 13)
    assert payload["message"] == "The request processing has failed because of an unknown error."
    assert "a bug" not in json.dumps(payload)
    assert headers["x-amzn-RequestId"] in caplog.text


async def test_the_error_handler_is_a_parameter() -> None:
    seen: list[tuple[str, str]] = []

    def handler(error: ServiceError, dialect: str, request_id: str) -> web.Response:
        seen.append((error.code.aws, dialect))
        return web.Response(status=418)

    api = build_api(router.Router({}, ()), EchoTransport(), error_handler=handler)
    async with RawTestServer(api) as server:
        status, _, _ = await call(str(server.make_url("")), "GET", "/v1/x")
    assert status == 418
    assert seen == [("UnknownOperationException", "application/json")]
