"""One policy for a whole team: groups, tags, tag condition keys and policy variables,
against a real server, with real source addresses (127.0.0.2, .3) and live sessions."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from botocore.credentials import Credentials

from nbpresign.client import Client
from nbpresign.client.credentials import SigningIdentity
from nbpresign.server.proxy.app import RECHECK_SECONDS

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

OWN_NOTEBOOKS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": PRESIGN,
            "Resource": "arn:aws:sagemaker:*:*:notebook-instance/${aws:username}-*",
        }
    ],
}

TEAM_NOTEBOOKS_FROM_THE_OFFICE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": PRESIGN,
            "Resource": "*",
            "Condition": {
                "StringEquals": {"sagemaker:ResourceTag/team": "data-science"},
                "IpAddress": {"aws:SourceIp": f"{ALLOWED}/32"},
            },
        }
    ],
}


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jupyter]:
    with jupyter_server(tmp_path_factory.mktemp("notebooks")) as running:
        yield running


@pytest.fixture(params=BACKENDS)
async def live(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LiveService]:
    async with database_for(request.param) as db, live_service(tmp_path / "data", db=db) as up:
        yield up


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


def admin(live: LiveService) -> Client:
    return Client(live.grpc_target, identity=live.identity)


async def as_admin(live: LiveService, *steps: tuple[str, tuple[Any, ...]]) -> None:
    """Runs admin client calls, (method name, arguments), off the event loop."""

    def run() -> None:
        with admin(live) as client:
            for method, args in steps:
                getattr(client, method)(*args)

    await asyncio.to_thread(run)


async def new_user(
    live: LiveService, own_policy: dict[str, Any] | None = None
) -> tuple[str, SigningIdentity]:
    name = f"u-{uuid.uuid4().hex[:8]}"

    def create() -> SigningIdentity:
        with admin(live) as client:
            client.create_user(name)
            key = client.create_access_key(name)
            if own_policy is not None:
                client.put_user_policy(name, "own", json.dumps(own_policy))
        return SigningIdentity(Credentials(key.access_key_id, key.secret_access_key), "us-east-1")

    return name, await asyncio.to_thread(create)


async def register(live: LiveService, jupyter: Jupyter, name: str, tags: dict[str, str]) -> str:
    def run() -> None:
        with admin(live) as client:
            client.register_notebook_instance(name, jupyter.url, jupyter.token, tags=tags)

    await asyncio.to_thread(run)
    return f"arn:aws:sagemaker:us-east-1:000000000000:notebook-instance/{name}"


async def presign(
    live: LiveService, who: SigningIdentity, notebook: str, address: str = ALLOWED
) -> dict[str, Any]:
    _, answer = await call(
        live,
        who,
        "CreatePresignedNotebookInstanceUrl",
        {"NotebookInstanceName": notebook},
        address=address,
    )
    return answer


async def test_each_user_may_open_only_notebooks_named_after_them(
    live: LiveService, jupyter: Jupyter
) -> None:
    alice, alice_key = await new_user(live, OWN_NOTEBOOKS)
    bob, _ = await new_user(live)
    await register(live, jupyter, f"{alice}-analysis", {})
    await register(live, jupyter, f"{bob}-analysis", {})
    assert "AuthorizedUrl" in await presign(live, alice_key, f"{alice}-analysis")
    refused = await presign(live, alice_key, f"{bob}-analysis")
    assert refused["__type"] == "AccessDeniedException"
    assert "because no identity-based policy allows" in refused["message"]


async def data_science_member(live: LiveService) -> tuple[str, SigningIdentity]:
    member, key = await new_user(live)
    await as_admin(
        live,
        ("create_group", ("data-science",)),
        ("put_group_policy", ("data-science", "team", json.dumps(TEAM_NOTEBOOKS_FROM_THE_OFFICE))),
        ("add_user_to_group", ("data-science", member)),
    )
    return member, key


async def test_group_members_may_open_team_notebooks_only_from_the_office(
    live: LiveService, jupyter: Jupyter
) -> None:
    _, member = await data_science_member(live)
    _, outsider = await new_user(live)
    await register(live, jupyter, "team-nb", {"team": "data-science"})
    await register(live, jupyter, "other-nb", {"team": "finance"})
    assert "AuthorizedUrl" in await presign(live, member, "team-nb")
    assert (await presign(live, member, "team-nb", ELSEWHERE))["__type"] == "AccessDeniedException"
    assert (await presign(live, member, "other-nb"))["__type"] == "AccessDeniedException"
    assert (await presign(live, outsider, "team-nb"))["__type"] == "AccessDeniedException"


@pytest.mark.parametrize("change", ["delete-tag", "retag", "leave-group", "group-policy"])
async def test_a_tag_or_membership_change_closes_an_open_session(
    live: LiveService, jupyter: Jupyter, change: str
) -> None:
    user, member = await data_science_member(live)
    arn = await register(live, jupyter, "team-nb", {"team": "data-science"})
    base = f"http://team-nb.localhost:{live.http_port}"
    minted = await presign(live, member, "team-nb")
    async with from_address(ALLOWED) as browser:
        async with browser.get(minted["AuthorizedUrl"], allow_redirects=False) as redeemed:
            assert redeemed.status == 303
        ws = await open_kernel_socket(browser, base)
        steps = {
            "delete-tag": ("delete_tags", (arn, ["team"])),
            "retag": ("add_tags", (arn, {"team": "finance"})),
            "leave-group": ("remove_user_from_group", ("data-science", user)),
            "group-policy": ("delete_group_policy", ("data-science", "team")),
        }
        await as_admin(live, steps[change])
        async with asyncio.timeout(RECHECK_SECONDS / 2):  # the event, not the periodic re-check
            assert await wait_closed(ws) == 1008
        async with browser.get(f"{base}/api/status", allow_redirects=False) as after:
            assert sign_in_reason(after) == "denied"


async def test_a_deny_in_a_group_beats_an_allow_in_the_users_own_policy(
    live: LiveService, jupyter: Jupyter
) -> None:
    everything = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    user, key = await new_user(live, everything)
    await register(live, jupyter, "locked-nb", {"classification": "secret"})
    await register(live, jupyter, "open-nb", {})
    no_secrets = {
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "sagemaker:*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceTag/Classification": "secret"}},
            }
        ]
    }
    await as_admin(
        live,
        ("create_group", ("contractors",)),
        ("put_group_policy", ("contractors", "no-secrets", json.dumps(no_secrets))),
        ("add_user_to_group", ("contractors", user)),
    )
    refused = await presign(live, key, "locked-nb")
    assert refused["__type"] == "AccessDeniedException"
    assert refused["message"].endswith("with an explicit deny")
    assert "AuthorizedUrl" in await presign(live, key, "open-nb")


async def test_principal_tags_as_policy_variables(live: LiveService, jupyter: Jupyter) -> None:
    same_team = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": PRESIGN,
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/Team}"}},
            }
        ],
    }
    user, key = await new_user(live, same_team)
    await as_admin(live, ("tag_user", (user, {"team": "nlp"})))
    await register(live, jupyter, "nlp-nb", {"team": "nlp"})
    await register(live, jupyter, "vision-nb", {"team": "vision"})
    assert "AuthorizedUrl" in await presign(live, key, "nlp-nb")
    assert (await presign(live, key, "vision-nb"))["__type"] == "AccessDeniedException"


async def test_request_tags_and_tag_keys_on_add_tags(live: LiveService, jupyter: Jupyter) -> None:
    only_cost_center = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sagemaker:AddTags",
                "Resource": "*",
                "Condition": {
                    "ForAllValues:StringEquals": {"aws:TagKeys": ["cost-center"]},
                    "StringLike": {"aws:RequestTag/cost-center": "cc-*"},
                },
            }
        ],
    }
    _, key = await new_user(live, only_cost_center)
    arn = await register(live, jupyter, "tagged-nb", {})

    async def add(tags: dict[str, str]) -> tuple[int, dict[str, Any]]:
        body = {"ResourceArn": arn, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        return await call(live, key, "AddTags", body, address=ALLOWED)

    assert (await add({"cost-center": "cc-42"}))[0] == 200
    assert (await add({"cost-center": "cc-42", "team": "x"}))[1]["__type"] == (
        "AccessDeniedException"
    )
    assert (await add({"cost-center": "free"}))[1]["__type"] == "AccessDeniedException"
