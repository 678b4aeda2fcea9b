"""Raw HTTP against the gateway: everything botocore would never send."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from conftest import Server, sign_http

TARGET = "SageMaker.CreatePresignedNotebookInstanceUrl"
JSON_11 = "application/x-amz-json-1.1"
PATTERN = "Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*"


async def post(
    server: Server,
    body: bytes | str,
    *,
    target: str | None = TARGET,
    content_type: str = JSON_11,
    extra_headers: dict[str, str] | None = None,
    signed: bool = True,
) -> tuple[int, dict[str, str], dict[str, Any]]:
    headers = {"Content-Type": content_type, **(extra_headers or {})}
    if target is not None:
        headers["X-Amz-Target"] = target
    raw = body.encode() if isinstance(body, str) else body
    if signed:
        headers = sign_http(server.identity, server.endpoint + "/", raw, headers)
    async with (
        aiohttp.ClientSession() as session,
        session.post(server.endpoint + "/", data=raw, headers=headers) as response,
    ):
        payload = await response.json(content_type=None)
        return response.status, dict(response.headers), payload


async def still_answers(server: Server, name: str) -> None:
    status, _, payload = await post(server, json.dumps({"NotebookInstanceName": name}))
    assert status == 200, payload
    assert "authToken=" in payload["AuthorizedUrl"]


def presign(name: Any = None, duration: Any = "absent") -> str:
    body: dict[str, Any] = {"NotebookInstanceName": name}
    if duration != "absent":
        body["SessionExpirationDurationInSeconds"] = duration
    return json.dumps(body)


BAD_NAMES = [
    ("a_b", f"Value 'a_b' at 'notebookInstanceName' failed to satisfy constraint: {PATTERN}"),
    ("-a", f"Value '-a' at 'notebookInstanceName' failed to satisfy constraint: {PATTERN}"),
    ("a-", f"Value 'a-' at 'notebookInstanceName' failed to satisfy constraint: {PATTERN}"),
    (
        "",
        "Value null at 'notebookInstanceName' failed to satisfy constraint: Member must not be null",
    ),
    (
        "nötebook",
        f"Value 'nötebook' at 'notebookInstanceName' failed to satisfy constraint: {PATTERN}",
    ),
    (
        "a" * 64,
        f"Value '{'a' * 64}' at 'notebookInstanceName' failed to satisfy constraint: "
        "Member must have length less than or equal to 63",
    ),
]


@pytest.mark.parametrize(("name", "detail"), BAD_NAMES)
async def test_bad_names(server: Server, registered: str, name: str, detail: str) -> None:
    status, headers, payload = await post(server, presign(name))
    assert status == 400
    assert payload == {
        "__type": "ValidationException",
        "message": f"1 validation error detected: {detail}",
    }
    assert headers["X-Amzn-ErrorType"] == "ValidationException"
    assert headers["x-amzn-RequestId"]
    await still_answers(server, registered)


async def test_63_characters_is_a_valid_name(server: Server) -> None:
    status, _, payload = await post(server, presign("a" * 63))
    assert (status, payload) == (
        400,
        {"__type": "ValidationException", "message": "RecordNotFound"},
    )


@pytest.mark.parametrize(
    ("duration", "detail"),
    [
        (1799, "Member must have value greater than or equal to 1800"),
        (43201, "Member must have value less than or equal to 43200"),
    ],
)
async def test_durations_out_of_range(
    server: Server, registered: str, duration: int, detail: str
) -> None:
    status, _, payload = await post(server, presign(registered, duration))
    assert status == 400
    assert payload["__type"] == "ValidationException"
    assert payload["message"] == (
        f"1 validation error detected: Value '{duration}' at "
        f"'sessionExpirationDurationInSeconds' failed to satisfy constraint: {detail}"
    )
    await still_answers(server, registered)


@pytest.mark.parametrize("duration", [1800, 43200])
async def test_duration_bounds_are_inclusive(
    server: Server, registered: str, duration: int
) -> None:
    status, _, _ = await post(server, presign(registered, duration))
    assert status == 200


@pytest.mark.parametrize("duration", ["3600", 3600.5, 3600.0, True, [3600], {"s": 1}])
async def test_durations_of_the_wrong_type(server: Server, registered: str, duration: Any) -> None:
    status, headers, payload = await post(server, presign(registered, duration))
    assert status == 400
    assert payload["__type"] == "SerializationException"
    assert "sessionExpirationDurationInSeconds" in payload["message"].replace("Session", "session")
    assert headers["X-Amzn-ErrorType"] == "SerializationException"
    await still_answers(server, registered)


async def test_null_duration_is_absent_and_defaults(server: Server, registered: str) -> None:
    # AWS JSON treats null as an absent member: the default applies.
    status, _, payload = await post(server, presign(registered, None))
    assert status == 200
    assert payload["AuthorizedUrl"]


async def test_all_failures_are_reported_at_once(server: Server) -> None:
    status, _, payload = await post(server, presign("a_b", 99))
    assert status == 400
    assert payload["message"].startswith("2 validation errors detected: ")
    assert payload["message"].count("failed to satisfy constraint") == 2


@pytest.mark.parametrize(
    ("body", "target", "content_type", "expected_status", "expected_type"),
    [
        (presign("x"), None, JSON_11, 400, "UnknownOperationException"),
        (presign("x"), "SageMaker.DeleteEverything", JSON_11, 400, "UnknownOperationException"),
        (
            presign("x"),
            "Other.CreatePresignedNotebookInstanceUrl",
            JSON_11,
            400,
            "UnknownOperationException",
        ),
        ('{"NotebookInstanceName": ', TARGET, JSON_11, 400, "SerializationException"),
        ("[1, 2]", TARGET, JSON_11, 400, "SerializationException"),
        (b"\xff\xfe", TARGET, JSON_11, 400, "SerializationException"),
        (presign("x"), TARGET, "application/json", 400, "SerializationException"),
        (presign("x"), TARGET, "text/plain", 400, "SerializationException"),
        (
            '{"NotebookInstanceName": "x", "Extra": 1}',
            TARGET,
            JSON_11,
            400,
            "SerializationException",
        ),
        ('{"NotebookInstanceName": 7}', TARGET, JSON_11, 400, "SerializationException"),
    ],
)
async def test_protocol_errors(
    server: Server,
    registered: str,
    body: str | bytes,
    target: str | None,
    content_type: str,
    expected_status: int,
    expected_type: str,
) -> None:
    status, headers, payload = await post(server, body, target=target, content_type=content_type)
    assert status == expected_status
    assert payload["__type"] == expected_type
    assert payload["message"]
    assert headers["x-amzn-RequestId"]
    await still_answers(server, registered)


async def test_oversized_body_is_refused_before_it_is_read(server: Server, registered: str) -> None:
    # Announce 10 MB and send none of it: only a server that answers from the headers
    # alone (instead of waiting to read the body) replies at all.
    reader, writer = await asyncio.open_connection("127.0.0.1", server.http_port)
    writer.write(
        (
            "POST / HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{server.http_port}\r\n"
            f"Content-Type: {JSON_11}\r\n"
            f"X-Amz-Target: {TARGET}\r\n"
            "Content-Length: 10485760\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
    writer.close()
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"x-amzn-requestid" in head.lower()
    await still_answers(server, registered)


async def test_oversized_chunked_body_is_refused(server: Server, registered: str) -> None:
    async def chunks() -> Any:
        for _ in range(200):
            yield b" " * 1024

    async with (
        aiohttp.ClientSession() as session,
        session.post(
            server.endpoint + "/",
            data=chunks(),
            headers=sign_http(
                server.identity,
                server.endpoint + "/",
                b" " * 204800,
                {"Content-Type": JSON_11, "X-Amz-Target": TARGET},
            ),
        ) as response,
    ):
        assert response.status == 413
        assert (await response.json(content_type=None))[
            "__type"
        ] == "RequestEntityTooLargeException"
    await still_answers(server, registered)


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    # GET / is the console's page (tests/e2e/test_console.py); the rest of / is the API's.
    [("DELETE", "/", {}), ("PUT", "/", {}), ("POST", "/elsewhere", {"X-Amz-Target": TARGET})],
)
async def test_other_routes_get_aws_errors(
    server: Server, method: str, path: str, headers: dict[str, str]
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, server.endpoint + path, headers=headers) as response,
    ):
        payload = await response.json(content_type=None)
        assert payload["__type"] == "UnknownOperationException"
        assert response.headers["x-amzn-RequestId"]


async def test_other_paths_are_rest_and_get_status_errors(server: Server) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(server.endpoint + "/elsewhere") as response,
    ):
        payload = await response.json(content_type=None)
        assert (response.status, payload["code"]) == (404, 5)
        assert payload["details"][0]["reason"] == "UnknownOperationException"
        assert response.headers["x-amzn-RequestId"]


async def test_request_ids_are_unique(server: Server, registered: str) -> None:
    ids = set()
    for _ in range(3):
        _, headers, _ = await post(server, presign(registered))
        ids.add(headers["x-amzn-RequestId"])
    assert len(ids) == 3


async def test_register_over_json_and_token_never_read_back(server: Server) -> None:
    body = json.dumps(
        {
            "NotebookInstanceName": "json-registered",
            "JupyterServerUrl": "http://127.0.0.1:8888/",
            "JupyterToken": "very-secret-jupyter-token",
        }
    )
    status, _, payload = await post(server, body, target="SageMaker.RegisterNotebookInstance")
    assert status == 200
    assert payload["NotebookInstanceArn"].endswith("notebook-instance/json-registered")
    for target in ("DescribeNotebookInstance", "ListNotebookInstances"):
        request = {"NotebookInstanceName": "json-registered"} if target.startswith("D") else {}
        status, _, read = await post(server, json.dumps(request), target=f"SageMaker.{target}")
        assert status == 200
        assert "very-secret-jupyter-token" not in json.dumps(read)
    status, _, again = await post(
        server,
        body.replace("json-registered", "JSON-Registered"),
        target="SageMaker.RegisterNotebookInstance",
    )
    assert status == 400
    assert again["message"].startswith("Cannot create a duplicate Notebook Instance")


@pytest.mark.parametrize("url", ["ftp://x/", "not a url", "http://", "javascript:alert(1)"])
async def test_register_refuses_bad_jupyter_urls(server: Server, url: str) -> None:
    body = json.dumps({"NotebookInstanceName": "bad-url", "JupyterServerUrl": url})
    status, _, payload = await post(server, body, target="SageMaker.RegisterNotebookInstance")
    assert status == 400
    assert "at 'jupyterServerUrl'" in payload["message"]


async def test_bad_list_arguments(server: Server) -> None:
    body = json.dumps({"MaxResults": 0, "SortBy": "Size", "NextToken": "garbage!"})
    status, _, payload = await post(server, body, target="SageMaker.ListNotebookInstances")
    assert status == 400
    assert payload["message"].startswith("2 validation errors detected: ")
    assert "Member must satisfy enum value set: [Name, CreationTime, Status]" in payload["message"]
    status, _, payload = await post(
        server, json.dumps({"NextToken": "garbage!"}), target="SageMaker.ListNotebookInstances"
    )
    assert (status, payload["__type"]) == (400, "ValidationException")
    assert "pagination token" in payload["message"]
