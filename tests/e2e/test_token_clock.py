"""A clock behind the one that minted a URL or started a session: a real service whose
clock the test moves, a real Jupyter server, a browser-like client."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from nbpresign.client import AsyncClient
from nbpresign.server.notebooks.tokens import IAT_LEEWAY_SECONDS

from notebooks import Jupyter, LiveService, browser_session, jupyter_server, live_service


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jupyter]:
    with jupyter_server(tmp_path_factory.mktemp("notebooks")) as running:
        yield running


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveService]:
    async with live_service(tmp_path / "data") as running:
        yield running


async def mint(live: LiveService, jupyter: Jupyter) -> tuple[str, str]:
    name = f"nb-{uuid.uuid4().hex[:8]}"
    async with AsyncClient(live.grpc_target, identity=live.identity) as client:
        await client.register_notebook_instance(name, jupyter.url, jupyter.token)
        return name, await client.create_presigned_notebook_instance_url(name, 1800)


async def opened(browser: aiohttp.ClientSession, url: str) -> str | None:
    """None if the URL opened (303 into the notebook), else the sign-in page's reason."""
    async with browser.get(url, allow_redirects=False) as response:
        if response.status == 303:
            return None
        assert response.status == 302
        return parse_qs(urlsplit(response.headers["Location"]).query)["reason"][0]


async def test_a_url_from_the_future_opens_only_within_the_leeway(
    live: LiveService, jupyter: Jupyter
) -> None:
    _, within = await mint(live, jupyter)
    _, beyond = await mint(live, jupyter)
    live.clock.advance(-IAT_LEEWAY_SECONDS)
    async with browser_session() as browser:
        assert await opened(browser, within) is None
    live.clock.advance(-1)  # now minted 31 s ahead of this clock: it would live 331 s
    async with browser_session() as browser:
        assert await opened(browser, beyond) == "link"


async def test_a_session_from_the_future_is_over(live: LiveService, jupyter: Jupyter) -> None:
    name, url = await mint(live, jupyter)
    status = f"http://{name}.localhost:{live.http_port}/api/status"
    async with browser_session() as browser:
        assert await opened(browser, url) is None
        async with browser.get(status, allow_redirects=False) as ok:
            assert ok.status == 200
        live.clock.advance(-(IAT_LEEWAY_SECONDS + 1))
        async with browser.get(status, allow_redirects=False) as refused:
            assert refused.status == 302
            assert "reason=session" in refused.headers["Location"]
