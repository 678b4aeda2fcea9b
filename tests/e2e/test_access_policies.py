"""IP restriction, as the developer guide shows it, on the call and on every use of the URL.

Distinct source addresses are real: clients bind to 127.0.0.2, 127.0.0.3, ... (all of
127.0.0.0/8 is loopback), so nothing here fakes a header, except the trusted-proxy case,
which is about exactly that header.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import grpc
import pytest
from botocore.credentials import Credentials
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from nbpresign.client import AsyncClient, Client, NbpresignError
from nbpresign.client.credentials import SigningIdentity
from nbpresign.client.signing import SigningInterceptor
from nbpresign.common.signing import sign_grpc_call
from nbpresign.v1 import notebook_instances_pb2 as nb
from nbpresign.v1 import notebook_instances_pb2_grpc as nb_grpc

from databases import BACKENDS, database_for
from notebooks import (
    Jupyter,
    LiveService,
    call,
    from_address,
    jupyter_server,
    live_service,
    sign_in_reason,
)

PRESIGN = "sagemaker:CreatePresignedNotebookInstanceUrl"
ALLOWED = "127.0.0.2"
ELSEWHERE = "127.0.0.3"


def ip_filter(*cidrs: str) -> str:
    """The developer guide's policy, for these ranges."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Action": PRESIGN,
                    "Resource": "*",
                    "Condition": {"NotIpAddress": {"aws:SourceIp": list(cidrs)}},
                },
                {
                    "Effect": "Allow",
                    "Action": PRESIGN,
                    "Resource": "*",
                    "Condition": {"IpAddress": {"aws:SourceIp": list(cidrs)}},
                },
            ],
        }
    )


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jupyter]:
    with jupyter_server(tmp_path_factory.mktemp("notebooks")) as running:
        yield running


@pytest.fixture(params=BACKENDS)
async def live(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LiveService]:
    async with (
        database_for(request.param) as db,
        live_service(tmp_path / "data", db=db, trusted_proxies=("127.0.0.5/32",)) as running,
    ):
        yield running


def admin(live: LiveService) -> Client:
    return Client(live.grpc_target, identity=live.identity)


async def make_user(live: LiveService, policy: str) -> tuple[str, SigningIdentity]:
    """A new user with one key and `policy`; the blocking admin client runs off the loop."""
    name = f"u-{uuid.uuid4().hex[:8]}"

    def create() -> SigningIdentity:
        with admin(live) as client:
            client.create_user(name)
            key = client.create_access_key(name)
            client.put_user_policy(name, "access", policy)
        return SigningIdentity(Credentials(key.access_key_id, key.secret_access_key), "us-east-1")

    return name, await asyncio.to_thread(create)


@pytest.fixture
async def notebook(live: LiveService, jupyter: Jupyter) -> str:
    name = f"nb-{uuid.uuid4().hex[:8]}"
    async with AsyncClient(live.grpc_target, identity=live.identity) as client:
        await client.register_notebook_instance(name, jupyter.url, jupyter.token)
    return name


async def test_the_call_is_allowed_only_from_the_listed_range(
    live: LiveService, notebook: str
) -> None:
    user, alice = await make_user(live, ip_filter(f"{ALLOWED}/32", "203.0.113.0/24"))
    status, answer = await call(
        live,
        alice,
        "CreatePresignedNotebookInstanceUrl",
        {"NotebookInstanceName": notebook},
        address=ALLOWED,
    )
    assert status == 200, answer
    status, answer = await call(
        live,
        alice,
        "CreatePresignedNotebookInstanceUrl",
        {"NotebookInstanceName": notebook},
        address=ELSEWHERE,
    )
    assert (status, answer["__type"]) == (400, "AccessDeniedException")
    assert answer["message"] == (
        f"User: arn:aws:iam::000000000000:user/{user} is not authorized to perform: {PRESIGN} "
        f"on resource: arn:aws:sagemaker:us-east-1:000000000000:notebook-instance/{notebook} with an explicit deny"
    )
    status, answer = await call(
        live, alice, "DescribeNotebookInstance", {"NotebookInstanceName": notebook}, address=ALLOWED
    )
    assert answer["__type"] == "AccessDeniedException"
    assert answer["message"].endswith(
        "because no identity-based policy allows the sagemaker:DescribeNotebookInstance action"
    )


async def test_a_url_minted_from_an_allowed_address_is_refused_elsewhere(
    live: LiveService, notebook: str
) -> None:
    _, alice = await make_user(live, ip_filter(f"{ALLOWED}/32"))
    base = f"http://{notebook}.localhost:{live.http_port}"
    _, first = await call(
        live,
        alice,
        "CreatePresignedNotebookInstanceUrl",
        {"NotebookInstanceName": notebook},
        address=ALLOWED,
    )
    async with (
        from_address(ELSEWHERE) as browser,
        browser.get(first["AuthorizedUrl"], allow_redirects=False) as refused,
    ):
        assert sign_in_reason(refused) == "denied"
    _, second = await call(
        live,
        alice,
        "CreatePresignedNotebookInstanceUrl",
        {"NotebookInstanceName": notebook},
        address=ALLOWED,
    )
    async with from_address(ALLOWED) as browser:
        async with browser.get(second["AuthorizedUrl"], allow_redirects=False) as redeemed:
            assert redeemed.status == 303
            cookie = redeemed.cookies["nbpresign-session"].value
        async with browser.get(f"{base}/api/status") as ok:
            assert ok.status == 200
    # The same session cookie, carried to another address, is refused on every request.
    async with (
        from_address(ELSEWHERE) as other,
        other.get(
            f"{base}/api/status",
            headers={"Cookie": f"nbpresign-session={cookie}"},
            allow_redirects=False,
        ) as moved,
    ):
        assert sign_in_reason(moved) == "denied"


async def test_x_forwarded_for_counts_only_from_a_trusted_proxy(
    live: LiveService, notebook: str
) -> None:
    _, alice = await make_user(live, ip_filter(f"{ALLOWED}/32"))
    body = {"NotebookInstanceName": notebook}
    status, _ = await call(
        live,
        alice,
        "CreatePresignedNotebookInstanceUrl",
        body,
        address="127.0.0.5",
        forwarded_for=ALLOWED,
    )
    assert status == 200  # 127.0.0.5 is a trusted proxy: the client it names is the source
    status, answer = await call(
        live,
        alice,
        "CreatePresignedNotebookInstanceUrl",
        body,
        address="127.0.0.6",
        forwarded_for=ALLOWED,
    )
    assert answer["__type"] == "AccessDeniedException"  # anyone else's header is ignored
    status, answer = await call(
        live,
        alice,
        "CreatePresignedNotebookInstanceUrl",
        body,
        address="127.0.0.5",
        forwarded_for=f"{ALLOWED}, 127.0.0.9",
    )
    assert answer["__type"] == "AccessDeniedException"  # the rightmost untrusted hop is the client


async def open_kernel_socket(
    browser: aiohttp.ClientSession, base: str
) -> aiohttp.ClientWebSocketResponse:
    async with browser.post(
        f"{base}/api/kernels", json={"name": "python3"}, headers={"Origin": base}
    ) as started:
        assert started.status == 201
        kernel = (await started.json())["id"]
    return await browser.ws_connect(
        f"{base}/api/kernels/{kernel}/channels?session_id={uuid.uuid4().hex}", origin=base
    )


async def wait_closed(ws: aiohttp.ClientWebSocketResponse) -> int | None:
    async with asyncio.timeout(10):
        while not ws.closed:
            await ws.receive()
    return ws.close_code


@pytest.mark.parametrize("change", ["deny-policy", "delete-key", "delete-user"])
async def test_a_change_to_the_principal_applies_to_open_sessions_at_once(
    live: LiveService, notebook: str, change: str
) -> None:
    user, alice = await make_user(live, ip_filter("127.0.0.0/8"))
    base = f"http://{notebook}.localhost:{live.http_port}"
    _, minted = await call(
        live,
        alice,
        "CreatePresignedNotebookInstanceUrl",
        {"NotebookInstanceName": notebook},
        address=ALLOWED,
    )
    async with from_address(ALLOWED) as browser:
        async with browser.get(minted["AuthorizedUrl"], allow_redirects=False) as redeemed:
            assert redeemed.status == 303
        ws = await open_kernel_socket(browser, base)

        def apply() -> None:
            with admin(live) as client:
                if change == "deny-policy":
                    client.put_user_policy(user, "access", ip_filter("10.0.0.0/8"))
                elif change == "delete-key":
                    client.delete_access_key(user, alice.credentials.access_key)
                else:
                    client.delete_user(user)

        await asyncio.to_thread(apply)
        assert await wait_closed(ws) == 1008
        async with browser.get(f"{base}/api/status", allow_redirects=False) as after:
            assert sign_in_reason(after) == ("denied" if change == "deny-policy" else "session")


async def test_grpc_permission_denied_carries_the_aws_code(
    live: LiveService, notebook: str
) -> None:
    _, alice = await make_user(live, ip_filter("127.0.0.0/8"))

    def describe() -> grpc.RpcError:
        with grpc.insecure_channel(live.grpc_target) as channel:
            stub = nb_grpc.NotebookInstanceServiceStub(
                grpc.intercept_channel(channel, SigningInterceptor(alice))
            )
            with pytest.raises(grpc.RpcError) as caught:
                stub.DescribeNotebookInstance(
                    nb.DescribeNotebookInstanceRequest(notebook_instance_name=notebook)
                )
            return caught.value

    error = await asyncio.to_thread(describe)
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert info.reason == "AccessDeniedException"
    assert "because no identity-based policy allows" in status.message


async def test_only_a_trusted_forwarder_may_name_another_caller(
    live: LiveService, notebook: str
) -> None:
    _, alice = await make_user(live, ip_filter("127.0.0.0/8"))
    path = "/nbpresign.v1.NotebookInstanceService/DescribeNotebookInstance"
    request = nb.DescribeNotebookInstanceRequest(notebook_instance_name=notebook)
    admin_key = live.identity.credentials.access_key
    forged = {
        "x-nbpresign-on-behalf-of-user": "admin",
        "x-nbpresign-on-behalf-of-key": admin_key,
        "x-nbpresign-source-ip": "127.0.0.1",
    }

    def attempt(metadata: list[tuple[str, str]]) -> grpc.StatusCode:
        with grpc.insecure_channel(live.grpc_target) as channel:
            with pytest.raises(grpc.RpcError) as caught:
                nb_grpc.NotebookInstanceServiceStub(channel).DescribeNotebookInstance(
                    request, metadata=tuple(metadata)
                )
            return caught.value.code()

    signed = sign_grpc_call(
        alice.credentials, "us-east-1", path, request.SerializeToString(), forged
    )
    assert await asyncio.to_thread(attempt, signed) == grpc.StatusCode.PERMISSION_DENIED
    unsigned = sign_grpc_call(
        alice.credentials, "us-east-1", path, request.SerializeToString()
    ) + list(forged.items())
    assert await asyncio.to_thread(attempt, unsigned) == grpc.StatusCode.UNAUTHENTICATED


async def test_a_malformed_policy_is_refused_when_attached(live: LiveService) -> None:
    user, _ = await make_user(live, ip_filter("127.0.0.0/8"))
    bad = '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.300/8"}}}]}'

    def attach() -> tuple[NbpresignError, list[str]]:
        with admin(live) as client:
            with pytest.raises(NbpresignError) as caught:
                client.put_user_policy(user, "broken", bad)
            return caught.value, [p.policy_name for p in client.list_user_policies(user)]

    error, stored = await asyncio.to_thread(attach)
    assert error.code == "MalformedPolicyDocument"
    assert "Statement[0].Condition.NotIpAddress.aws:SourceIp: '10.0.0.300/8'" in error.message
    assert stored == ["access"]


async def test_secure_transport_is_what_a_trusted_proxy_says(
    live: LiveService, notebook: str
) -> None:
    tls_only = json.dumps(
        {
            "Statement": [
                {"Effect": "Allow", "Action": PRESIGN, "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ]
        }
    )
    _, alice = await make_user(live, tls_only)
    body = {"NotebookInstanceName": notebook}
    status, _ = await call(
        live,
        alice,
        "CreatePresignedNotebookInstanceUrl",
        body,
        address="127.0.0.5",
        forwarded_for=ALLOWED,
        forwarded_proto="https",
    )
    assert status == 200
    _, answer = await call(
        live,
        alice,
        "CreatePresignedNotebookInstanceUrl",
        body,
        address="127.0.0.5",
        forwarded_for=ALLOWED,
    )
    assert answer["__type"] == "AccessDeniedException"
    _, answer = await call(
        live,
        alice,
        "CreatePresignedNotebookInstanceUrl",
        body,
        address="127.0.0.6",
        forwarded_proto="https",
    )
    assert (
        answer["__type"] == "AccessDeniedException"
    )  # an untrusted peer's word counts for nothing
