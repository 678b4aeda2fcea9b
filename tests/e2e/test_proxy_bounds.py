"""The proxy under a team: many open WebSockets and slow uploads leave plain requests
working, and a full bound answers a 503 page at once instead of a wait without end.
Against a real jupyter_server, through the real proxy; nothing here is timed but by
"does not hang" deadlines."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from nbpresign.server.process.limits import Limits as ProcessLimits
from nbpresign.server.proxy.limits import Limits

from notebooks import (
    Jupyter,
    LiveService,
    browser_session,
    jupyter_server,
    live_service,
    mint,
    origin,
    redeem,
    register,
)

HANG = 60  # seconds after which a request counts as hanging
# The slow uploads pause for as long as a test needs them to: not a body that stopped.
PATIENT = ProcessLimits(body_timeout=10 * HANG)


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jupyter]:
    with jupyter_server(tmp_path_factory.mktemp("team")) as running:
        yield running


@contextlib.asynccontextmanager
async def people(
    live: LiveService, name: str, count: int
) -> AsyncIterator[list[aiohttp.ClientSession]]:
    """`count` browsers, each with its own session on notebook `name`."""
    async with contextlib.AsyncExitStack() as stack:
        browsers = [await stack.enter_async_context(browser_session()) for _ in range(count)]
        for browser in browsers:
            assert (await redeem(browser, await mint(live, name))).status == 303
        yield browsers


async def open_events(browser: aiohttp.ClientSession, base: str) -> aiohttp.ClientWebSocketResponse:
    """A WebSocket every JupyterLab tab keeps open."""
    return await browser.ws_connect(f"{base}/api/events/subscribe", origin=base)


async def plain_requests_work(browsers: list[aiohttp.ClientSession], base: str) -> None:
    """Each browser, all at once, loads a page and calls the API (one after the other)."""

    async def one(browser: aiohttp.ClientSession) -> None:
        for path in ("/api/status", "/api/contents", "/lab"):
            async with browser.get(base + path) as response:
                assert response.status == 200, path
                await response.read()

    async with asyncio.timeout(HANG):
        await asyncio.gather(*(one(b) for b in browsers))


class SlowUpload:
    """A PUT whose body is held back until release(): a request in flight for as long."""

    def __init__(self, browser: aiohttp.ClientSession, base: str, name: str) -> None:
        self._go = asyncio.Event()
        self.task = asyncio.ensure_future(self._put(browser, base, name))

    async def _body(self) -> AsyncIterator[bytes]:
        yield b'{"type": "file", "format": "text", "content": "'
        await self._go.wait()
        yield b'slow"}'

    async def _put(self, browser: aiohttp.ClientSession, base: str, name: str) -> int:
        async with browser.put(
            f"{base}/api/contents/{name}",
            data=self._body(),
            headers={"Origin": base, "Content-Type": "application/json"},
        ) as response:
            await response.read()
            return response.status

    async def release(self) -> int:
        self._go.set()
        async with asyncio.timeout(HANG):
            return await self.task


async def test_many_websockets_and_slow_uploads_leave_plain_requests_working(
    tmp_path: Path, jupyter: Jupyter
) -> None:
    """More WebSockets, and more slow uploads, than aiohttp's default 100 connections."""
    async with live_service(tmp_path / "data", limits=PATIENT) as live:
        name = await register(live, jupyter.url, jupyter.token)
        base = origin(live, name)
        async with people(live, name, 6) as browsers, contextlib.AsyncExitStack() as open_ws:
            async with asyncio.timeout(HANG):
                for browser in browsers:  # 6 x 25: ten tabs' worth each
                    for _ in range(25):
                        await open_ws.enter_async_context(await open_events(browser, base))
            await plain_requests_work(browsers, base)
            uploads = [
                SlowUpload(browser, base, f"slow-{i}-{j}.txt")
                for i, browser in enumerate(browsers[:4])
                for j in range(30)
            ]
            await asyncio.sleep(1)  # let them reach Jupyter, which waits for their bodies
            assert not any(u.task.done() for u in uploads)
            await plain_requests_work(browsers, base)
            async with asyncio.timeout(HANG):
                extra = await open_events(browsers[5], base)  # the 151st WebSocket
                await extra.close()
            statuses = [await u.release() for u in uploads]
            assert set(statuses) == {201}
        assert (jupyter.root / "slow-3-29.txt").read_text() == "slow"


SMALL = Limits(
    requests_per_notebook=4,
    requests_per_session=3,
    websockets_per_notebook=3,
    websockets_per_session=2,
    wait_seconds=0.5,
)


async def until_busy(browser: aiohttp.ClientSession, url: str) -> None:
    """Requests until one finds the bound full (the slow uploads before it may still be
    on their way to their places): that one is a 503 page, soon, not a wait."""
    async with asyncio.timeout(HANG):
        while True:
            async with browser.get(url) as response:
                if response.status != 503:
                    assert response.status == 200
                    await asyncio.sleep(0.1)
                    continue
                assert response.headers["Retry-After"].isdigit()
                assert "Notebook busy" in await response.text()
                return


async def test_a_full_bound_answers_503_at_once(tmp_path: Path, jupyter: Jupyter) -> None:
    async with live_service(tmp_path / "data", limits=PATIENT, proxy_limits=SMALL) as live:
        name = await register(live, jupyter.url, jupyter.token)
        other = await register(live, jupyter.url, jupyter.token)
        base = origin(live, name)
        async with (
            people(live, name, 3) as (a, b, c),
            people(live, other, 1) as (elsewhere,),
            contextlib.AsyncExitStack() as held,
        ):
            async with asyncio.timeout(HANG):
                # WebSockets: a's bound is 2, the notebook's 3.
                for _ in range(2):
                    await held.enter_async_context(await open_events(a, base))
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await open_events(a, base)
                assert refused.value.status == 503
                await held.enter_async_context(await open_events(b, base))
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await open_events(c, base)
                assert refused.value.status == 503
            # ... and the WebSockets took no plain request's place.
            await plain_requests_work([a, b, c], base)

            # Plain requests: a's bound is 3, the notebook's 4.
            uploads = [SlowUpload(a, base, f"a-{i}.txt") for i in range(3)]
            await until_busy(a, f"{base}/api/status")
            await plain_requests_work([b], base)  # a's bound, not the notebook's
            uploads.append(SlowUpload(b, base, "b.txt"))
            await until_busy(c, f"{base}/api/status")
            await plain_requests_work([elsewhere], origin(live, other))  # another notebook
            assert {await u.release() for u in uploads} == {201}
            await plain_requests_work([a, b, c], base)  # places freed
