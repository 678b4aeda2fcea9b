"""Two `serve` replicas over one PostgreSQL database work as one service."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from botocore.credentials import Credentials

from nbpresign.client import Client, NbpresignError
from nbpresign.client.credentials import SigningIdentity

from conftest import NBPRESIGN, Server, identity_of, launch_server, wait_until_serving
from databases import fresh_database
from notebooks import Jupyter, browser_session, jupyter_server

PRESIGN = "sagemaker:CreatePresignedNotebookInstanceUrl"


@dataclass
class Pair:
    a: Server
    b: Server
    db: str
    admin: SigningIdentity


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jupyter]:
    with jupyter_server(tmp_path_factory.mktemp("notebooks")) as running:
        yield running


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[Pair]:
    async with fresh_database() as db:
        # Both at once, on an empty database: migrations and the first admin race.
        a = launch_server(tmp_path / "a", "--db", db)
        b = launch_server(tmp_path / "b", "--db", db)
        try:
            await asyncio.gather(
                asyncio.to_thread(wait_until_serving, a.grpc_target, a.process),
                asyncio.to_thread(wait_until_serving, b.grpc_target, b.process),
            )
            written = [s.data_dir for s in (a, b) if (s.data_dir / "credentials").exists()]
            assert len(written) == 1  # exactly one replica created the admin
            yield Pair(a, b, db, identity_of(written[0]))
        finally:
            for server in (a, b):
                assert "Traceback" not in server.stop()


def on(server: Server, url: str) -> str:
    """The same URL, through another replica's port."""
    parts = urlsplit(url)
    return parts._replace(netloc=f"{parts.hostname}:{server.http_port}").geturl()


def reason(response: aiohttp.ClientResponse) -> str | None:
    location = response.headers.get("Location", "")
    return (
        parse_qs(urlsplit(location).query).get("reason", [None])[0]
        if response.status == 302
        else None
    )


def admin(server: Server, pair: Pair) -> Client:
    return Client(server.grpc_target, identity=pair.admin)


async def register(pair: Pair, jupyter: Jupyter) -> str:
    name = f"nb-{uuid.uuid4().hex[:8]}"

    def create() -> None:
        with admin(pair.a, pair) as client:
            client.register_notebook_instance(name, jupyter.url, jupyter.token)

    await asyncio.to_thread(create)
    return name


async def mint(server: Server, identity: SigningIdentity, name: str) -> str:
    def create() -> str:
        with Client(server.grpc_target, identity=identity) as client:
            return client.create_presigned_notebook_instance_url(name)

    return await asyncio.to_thread(create)


async def test_a_url_minted_through_a_opens_through_b_once(pair: Pair, jupyter: Jupyter) -> None:
    name = await register(pair, jupyter)
    url = await mint(pair.a, pair.admin, name)
    async with browser_session() as browser:
        async with browser.get(on(pair.b, url), allow_redirects=False) as redeemed:
            assert redeemed.status == 303
        async with browser.get(f"http://{name}.localhost:{pair.b.http_port}/api/status") as ok:
            assert ok.status == 200
    async with browser_session() as other, other.get(url, allow_redirects=False) as replay:
        assert reason(replay) == "link"  # through A, it was used through B


async def test_racing_replicas_let_exactly_one_redemption_win(pair: Pair, jupyter: Jupyter) -> None:
    name = await register(pair, jupyter)
    for _ in range(5):
        url = await mint(pair.b, pair.admin, name)

        async def attempt(server: Server, url: str = url) -> int:
            async with (
                browser_session() as browser,
                browser.get(on(server, url), allow_redirects=False) as response,
            ):
                return response.status

        results = await asyncio.gather(
            attempt(pair.a), attempt(pair.b), attempt(pair.a), attempt(pair.b)
        )
        assert sorted(results) == [302, 302, 302, 303]


async def test_stopping_through_a_ends_the_session_on_b_at_once(
    pair: Pair, jupyter: Jupyter
) -> None:
    name = await register(pair, jupyter)
    base = f"http://{name}.localhost:{pair.b.http_port}"
    url = await mint(pair.a, pair.admin, name)
    async with browser_session() as browser:
        async with browser.get(on(pair.b, url), allow_redirects=False):
            pass
        async with browser.post(
            f"{base}/api/kernels", json={"name": "python3"}, headers={"Origin": base}
        ) as started:
            kernel = (await started.json())["id"]
        ws = await browser.ws_connect(
            f"{base}/api/kernels/{kernel}/channels?session_id={uuid.uuid4().hex}", origin=base
        )

        def stop() -> None:
            with admin(pair.a, pair) as client:
                client.stop_notebook_instance(name)

        await asyncio.to_thread(stop)
        async with asyncio.timeout(10):  # B hears of it through LISTEN/NOTIFY
            while not ws.closed:
                await ws.receive()
        assert ws.close_code == 1008
        async with browser.get(f"{base}/api/status", allow_redirects=False) as after:
            assert reason(after) == "unavailable"


async def test_a_policy_change_through_b_applies_through_a(pair: Pair, jupyter: Jupyter) -> None:
    name = await register(pair, jupyter)
    user = f"u-{uuid.uuid4().hex[:8]}"
    allow = json.dumps({"Statement": [{"Effect": "Allow", "Action": PRESIGN, "Resource": "*"}]})
    deny = json.dumps({"Statement": [{"Effect": "Deny", "Action": PRESIGN, "Resource": "*"}]})

    def create() -> SigningIdentity:
        with admin(pair.b, pair) as client:
            client.create_user(user)
            key = client.create_access_key(user)
            client.put_user_policy(user, "p", allow)
        return SigningIdentity(Credentials(key.access_key_id, key.secret_access_key), "us-east-1")

    alice = await asyncio.to_thread(create)
    assert await mint(pair.a, alice, name)  # a key made through B signs through A

    def change() -> None:
        with admin(pair.b, pair) as client:
            client.put_user_policy(user, "p", deny)

    await asyncio.to_thread(change)
    with pytest.raises(NbpresignError) as caught:
        await mint(pair.a, alice, name)
    assert caught.value.code == "AccessDeniedException"
    assert "with an explicit deny" in caught.value.message


async def test_rotating_the_signing_key_keeps_issued_urls_valid(
    pair: Pair, jupyter: Jupyter
) -> None:
    name = await register(pair, jupyter)
    before = await mint(pair.a, pair.admin, name)
    rotated = await asyncio.to_thread(
        subprocess.run,
        [*NBPRESIGN, "rotate-signing-key", "--db", pair.db, "--data-dir", str(pair.a.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.startswith("new signing key ")
    async with (
        browser_session() as browser,
        browser.get(on(pair.b, before), allow_redirects=False) as redeemed,
    ):
        assert redeemed.status == 303


async def test_a_next_token_from_a_pages_on_b(pair: Pair, jupyter: Jupyter) -> None:
    names = sorted([await register(pair, jupyter) for _ in range(3)])

    def pages() -> list[str]:
        with admin(pair.a, pair) as a, admin(pair.b, pair) as b:
            first = a.list_notebook_instances(max_results=2)
            rest = b.list_notebook_instances(max_results=2, next_token=first.next_token)
            with pytest.raises(NbpresignError) as caught:  # bound to its query's sort
                b.list_notebook_instances(next_token=first.next_token, sort_by="Status")
            assert caught.value.message == "Invalid pagination token"
        assert first.next_token and not rest.next_token
        return [
            i.notebook_instance_name for i in [*first.notebook_instances, *rest.notebook_instances]
        ]

    assert await asyncio.to_thread(pages) == names
