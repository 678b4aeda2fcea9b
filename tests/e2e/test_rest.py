"""REST (google.api.http routes) against the real service, signed with SigV4 as any client signs."""

from __future__ import annotations

import json
import subprocess
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from nbpresign.client.credentials import SigningIdentity

from conftest import Server, sign_http, start_gateway, unique_name

JSON = {"Content-Type": "application/json"}


async def rest(
    server: Server,
    verb: str,
    path: str,
    body: Any = None,
    *,
    params: list[tuple[str, str]] | None = None,
    identity: SigningIdentity | None = None,
    signed: bool = True,
    endpoint: str | None = None,  # another listener in front of the same server
) -> tuple[int, dict[str, str], Any]:
    url = (endpoint or server.endpoint) + path + (f"?{urlencode(params)}" if params else "")
    raw = b"" if body is None else json.dumps(body).encode()
    headers = dict(JSON) if body is not None else {}
    if signed:
        headers = sign_http(identity or server.identity, url, raw, headers, method=verb)
    async with (
        aiohttp.ClientSession() as session,
        session.request(verb, url, data=raw or None, headers=headers) as response,
    ):
        return response.status, dict(response.headers), await response.json(content_type=None)


def reason(payload: dict[str, Any]) -> str:
    (info,) = [d for d in payload["details"] if d["@type"].endswith("google.rpc.ErrorInfo")]
    return str(info["reason"])


async def test_presign(server: Server, registered: str) -> None:
    status, headers, payload = await rest(
        server,
        "POST",
        f"/v1/notebook-instances/{registered}:createPresignedUrl",
        {"SessionExpirationDurationInSeconds": 1800},
    )
    assert status == 200, payload
    assert headers["Content-Type"].startswith("application/json")
    assert headers["x-amzn-RequestId"]
    assert f"//{registered}.localhost:" in payload["AuthorizedUrl"]
    assert "authToken=" in payload["AuthorizedUrl"]


async def test_describe_list_stop_start_delete(server: Server) -> None:
    name = unique_name()
    status, _, payload = await rest(
        server,
        "POST",
        "/v1/notebook-instances",
        {"NotebookInstanceName": name, "JupyterServerUrl": "http://127.0.0.1:9/"},
    )
    assert status == 200, payload
    status, _, described = await rest(server, "GET", f"/v1/notebook-instances/{name}")
    assert status == 200
    assert described["NotebookInstanceStatus"] == "InService"
    assert described["CreationTime"].endswith("Z")  # RFC 3339, as proto JSON writes it
    params = [("name_contains", name), ("StatusEquals", "InService"), ("max_results", "1")]
    status, _, page = await rest(server, "GET", "/v1/notebook-instances", params=params)
    assert status == 200
    assert [s["NotebookInstanceName"] for s in page["NotebookInstances"]] == [name]
    for verb, path in [
        ("POST", f"/v1/notebook-instances/{name}:stop"),
        ("DELETE", f"/v1/notebook-instances/{name}"),
    ]:
        status, _, payload = await rest(server, verb, path, {} if verb == "POST" else None)
        assert (status, payload) == (200, {})
    status, _, payload = await rest(server, "GET", f"/v1/notebook-instances/{name}")
    assert (status, payload["code"], payload["message"]) == (404, 5, "RecordNotFound")
    assert reason(payload) == "ValidationException"


async def test_an_empty_page_has_its_list(server: Server) -> None:
    params = [("name_contains", "no-such-instance-anywhere")]
    status, _, page = await rest(server, "GET", "/v1/notebook-instances", params=params)
    assert (status, page) == (200, {"NextToken": "", "NotebookInstances": []})


async def test_pagination(server: Server) -> None:
    prefix = unique_name("page")
    for index in range(3):
        body = {"NotebookInstanceName": f"{prefix}-{index}", "JupyterServerUrl": "http://x/"}
        assert (await rest(server, "POST", "/v1/notebook-instances", body))[0] == 200
    seen: list[str] = []
    token = ""
    for _ in range(5):
        params = [("NameContains", prefix), ("MaxResults", "2")]
        params += [("NextToken", token)] if token else []
        _, _, page = await rest(server, "GET", "/v1/notebook-instances", params=params)
        seen += [s["NotebookInstanceName"] for s in page["NotebookInstances"]]
        token = page["NextToken"]
        if not token:
            break
    assert seen == [f"{prefix}-{i}" for i in range(3)]


async def test_validation_errors_are_statuses_with_field_violations(server: Server) -> None:
    status, headers, payload = await rest(
        server,
        "POST",
        "/v1/notebook-instances/a_b:createPresignedUrl",
        {"SessionExpirationDurationInSeconds": 99},
    )
    assert status == 400
    assert headers["x-amzn-RequestId"]
    assert payload["code"] == 3
    assert payload["message"].startswith("2 validation errors detected: Value 'a_b' at ")
    assert reason(payload) == "ValidationException"
    (bad,) = [d for d in payload["details"] if d["@type"].endswith("google.rpc.BadRequest")]
    fields = [v["field"] for v in bad["fieldViolations"]]
    assert fields == ["notebook_instance_name", "session_expiration_duration_in_seconds"]


@pytest.mark.parametrize(
    ("verb", "path", "body", "status", "code"),
    [
        ("GET", "/v1/nowhere", None, 404, 5),
        ("PATCH", "/v1/notebook-instances/x", None, 405, 12),
        ("GET", "/v1/notebook-instances?MaxResult=1", None, 400, 3),
        ("POST", "/v1/notebook-instances/x:createPresignedUrl", {"Nope": 1}, 400, 3),
        ("POST", "/v1/notebook-instances/x:stop", {"NotebookInstanceName": "y"}, 400, 3),
    ],
)
async def test_protocol_errors(
    server: Server, verb: str, path: str, body: Any, status: int, code: int
) -> None:
    got, headers, payload = await rest(server, verb, path, body)
    assert (got, payload["code"]) == (status, code), payload
    assert headers["x-amzn-RequestId"]
    if status == 405:
        assert headers["Allow"] == "DELETE, GET"


async def test_unsigned_and_badly_signed(server: Server) -> None:
    status, _, payload = await rest(server, "GET", "/v1/notebook-instances", signed=False)
    assert (status, payload["code"], reason(payload)) == (401, 16, "MissingAuthenticationToken")
    wrong = SigningIdentity(
        type(server.identity.credentials)(server.identity.credentials.access_key, "x" * 40),
        "us-east-1",
    )
    status, _, payload = await rest(server, "GET", "/v1/notebook-instances", identity=wrong)
    assert (status, reason(payload)) == (401, "InvalidSignatureException")


async def test_iam_over_rest_and_access_denied(server: Server, registered: str) -> None:
    user = unique_name("rest-user")
    status, _, created = await rest(server, "POST", "/v1/users", {"UserName": user})
    assert status == 200, created
    assert created["User"]["Arn"].endswith(f":user/{user}")
    status, _, key = await rest(server, "POST", f"/v1/users/{user}/access-keys", {})
    assert status == 200
    from botocore.credentials import Credentials

    theirs = SigningIdentity(
        Credentials(key["AccessKey"]["AccessKeyId"], key["AccessKey"]["SecretAccessKey"]),
        "us-east-1",
    )
    presign = f"/v1/notebook-instances/{registered}:createPresignedUrl"
    status, _, payload = await rest(server, "POST", presign, {}, identity=theirs)
    assert (status, payload["code"], reason(payload)) == (403, 7, "AccessDeniedException")
    assert (
        "is not authorized to perform: sagemaker:CreatePresignedNotebookInstanceUrl"
        in (payload["message"])
    )
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}],
    }
    status, _, _ = await rest(
        server,
        "PUT",
        f"/v1/users/{user}/policies/notebooks",
        {"PolicyDocument": json.dumps(policy)},
    )
    assert status == 200
    status, _, payload = await rest(server, "POST", presign, {}, identity=theirs)
    assert status == 200, payload
    status, _, listed = await rest(server, "GET", f"/v1/users/{user}/policies")
    assert [p["PolicyName"] for p in listed["Policies"]] == ["notebooks"]
    status, _, payload = await rest(server, "DELETE", f"/v1/users/{user}")
    assert (status, payload) == (200, {})


def test_curl_aws_sigv4(server: Server, registered: str) -> None:
    credentials = server.identity.credentials

    def curl(path: str) -> Any:
        result = subprocess.run(
            [
                "curl", "--silent", "--show-error", "--fail-with-body",
                "--aws-sigv4", "aws:amz:us-east-1:sagemaker",
                "--user", f"{credentials.access_key}:{credentials.secret_key}",
                server.endpoint + path,
            ],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        return json.loads(result.stdout)

    assert curl(f"/v1/notebook-instances/{registered}")["NotebookInstanceName"] == registered
    # curl before 8 signs the query as typed, unsorted: give it sorted.
    page = curl(f"/v1/notebook-instances?NameContains={registered}&max_results=5")
    assert [s["NotebookInstanceName"] for s in page["NotebookInstances"]] == [registered]


async def test_the_longest_documented_query_is_read(server: Server) -> None:
    # NextToken may have 8192 characters, each up to 12 bytes percent-encoded: more than
    # aiohttp's default request line (8190 bytes), which answered in plain text.
    params = [("NextToken", "é" * 8192)]
    status, _, payload = await rest(server, "GET", "/v1/notebook-instances", params=params)
    assert (status, payload["code"], reason(payload)) == (400, 3, "ValidationException")


async def test_a_request_line_too_long_even_so_is_refused_quietly(server: Server) -> None:
    # Refused by the HTTP parser, before any handler; the session server's log must not
    # show a traceback for it (checked when the session ends).
    async with (
        aiohttp.ClientSession() as session,
        session.get(server.endpoint + "/v1/notebook-instances?x=" + "a" * 200_000) as response,
    ):
        assert response.status == 400


async def test_a_remote_gateway_serves_rest_too(server: Server, registered: str) -> None:
    # `nbpresign gateway` in front of the core over gRPC: the same routes, the same answers.
    gateway = start_gateway(server.grpc_target, server.identity)
    remote = gateway.endpoint.rstrip("/")
    try:
        presign = f"/v1/notebook-instances/{registered}:createPresignedUrl"
        status, _, payload = await rest(server, "POST", presign, {}, endpoint=remote)
        assert status == 200, payload
        assert "authToken=" in payload["AuthorizedUrl"]
        bad = "/v1/notebook-instances/a_b:createPresignedUrl"
        here, there = (
            await rest(server, "POST", bad, {}),
            await rest(server, "POST", bad, {}, endpoint=remote),
        )
        assert (here[0], here[2]) == (there[0], there[2])
        status, _, users = await rest(server, "GET", "/v1/users", endpoint=remote)
        assert status == 200
        assert "admin" in [u["UserName"] for u in users["Users"]]
    finally:
        assert "Traceback" not in gateway.stop()
