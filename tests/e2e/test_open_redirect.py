"""Redeeming a URL whose path names another host lands on the notebook's own origin: in a
real Chromium (Debian's, driven by Playwright), where evil.example resolves to a server
of the test's that counts its visitors; and for every spelling, over a raw socket, since a
browser rewrites some of them (a backslash to a slash) before it sends them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web
from playwright.async_api import Browser, async_playwright

from notebooks import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Jupyter,
    LiveService,
    jupyter_server,
    live_service,
    mint,
    origin,
    register,
)

# Paths that a browser, handed them back in a Location, reads as the URL of another host.
HOSTILE_PATHS = [
    "//evil.example/",
    "/\\evil.example/",
    "///evil.example/",
    "/\\/evil.example/",
    "/%2F/evil.example/",
    "/%5C%5Cevil.example/",
    "//evil.example/lab?x=1",
]


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jupyter]:
    with jupyter_server(tmp_path_factory.mktemp("landing")) as running:
        yield running


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveService]:
    async with live_service(tmp_path / "data") as running:
        yield running


@pytest.fixture
async def evil() -> AsyncIterator[tuple[int, list[str]]]:
    """evil.example's server: its port, and every URL a browser asked it for."""
    visits: list[str] = []

    async def visited(request: web.BaseRequest) -> web.StreamResponse:
        visits.append(str(request.url))
        return web.Response(text="evil.example")

    runner = web.ServerRunner(web.Server(visited))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield runner.addresses[0][1], visits
    finally:
        await runner.cleanup()


@pytest.fixture
async def chromium(evil: tuple[int, list[str]]) -> AsyncIterator[Browser]:
    port, _ = evil
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP evil.example:80 127.0.0.1:{port}"],
        )
        try:
            yield browser
        finally:
            await browser.close()


def with_path(url: str, path: str) -> str:
    """The AuthorizedUrl with `path` in place of its own, the token still in its query."""
    parts = urlsplit(url)
    query = parts.query if "?" not in path else f"{path.split('?', 1)[1]}&{parts.query}"
    return f"{parts.scheme}://{parts.netloc}{path.split('?', 1)[0]}?{query}"


async def test_chromium_lands_on_the_notebook(
    live: LiveService, jupyter: Jupyter, chromium: Browser, evil: tuple[int, list[str]]
) -> None:
    _, visits = evil
    name = await register(live, jupyter.url, jupyter.token)
    page = await chromium.new_page()
    # The mapping works: a browser sent to evil.example would be seen there.
    probe = {"http://evil.example/probe", "http://evil.example/favicon.ico"}
    await page.goto("http://evil.example/probe")
    assert "http://evil.example/probe" in visits
    for path in HOSTILE_PATHS:
        url = with_path(await mint(live, name), path)
        await page.goto(url)
        landed = urlsplit(page.url)
        assert f"{landed.scheme}://{landed.netloc}" == origin(live, name), (path, page.url)
        assert "authToken" not in page.url
    await page.close()
    assert set(visits) <= probe  # and no landing there


async def redeem_raw(port: int, host: str, target: str) -> tuple[int, str]:
    """GET `target` exactly as written (no client tidies it): the status and Location."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        async with asyncio.timeout(30):
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    finally:
        writer.close()
    lines = head.split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers.get("Location", "")


@pytest.mark.parametrize("path", [*HOSTILE_PATHS, "/\\\\evil.example/", "/%2f%5c/evil.example/"])
async def test_every_spelling_is_redirected_onto_the_notebooks_origin(
    live: LiveService, jupyter: Jupyter, path: str
) -> None:
    name = await register(live, jupyter.url, jupyter.token)
    own = origin(live, name)
    token = parse_qs(urlsplit(await mint(live, name)).query)["authToken"][0]
    joiner = "&" if "?" in path else "?"
    status, location = await redeem_raw(
        live.http_port, urlsplit(own).netloc, f"{path}{joiner}authToken={token}"
    )
    assert status == 303
    assert location.startswith(own + "/")
    assert not location[len(own) :].startswith(("//", "/\\", "/%2", "/%5"))
    assert "evil.example" in location  # the path is kept, as a path on the notebook
    assert token not in location
