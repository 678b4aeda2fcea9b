"""No spelling of the Jupyter token reaches the browser, for tokens in four alphabets, each
the token of a real jupyter_server: not in any status line, header, body (compressed by the
proxy or not), nor in any WebSocket message, even when a cell prints it every way it can."""

from __future__ import annotations

import asyncio
import gzip
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from jupyter_server.services.kernels.connection import base

from nbpresign.server.proxy.kernel_messages import KERNEL_PROTOCOL
from nbpresign.server.proxy.spellings import needle_of

from notebooks import (
    TOKEN_ALPHABETS,
    Jupyter,
    LiveService,
    browser_session,
    execute_request,
    live_service,
    mint,
    origin,
    redeem,
    register,
    start_jupyter,
    start_kernel,
    stop_jupyter,
    written_forms,
)

# Jupyter's pages, its API, and its error pages (HTML and JSON).
PATHS = [
    "/",
    "/lab",
    "/lab/tree/hello.txt",
    "/tree",
    "/login",
    "/login?next=%2Flab",
    "/logout",
    "/does-not-exist",
    "/files/does-not-exist",
    "/edit/hello.txt",
    "/view/hello.txt",
    "/api/status",
    "/api/me",
    "/api/contents",
    "/api/contents/does-not-exist",
    "/api/kernelspecs",
    "/api/sessions",
    "/lab/api/settings",
    "/lab/api/workspaces",
]

# A cell that prints the token in every spelling the standard library writes, shows it in
# HTML, returns it, and raises it.
PRINT_THE_TOKEN = """
import html, json, os, urllib.parse
from IPython.display import HTML, display
t = os.environ["JUPYTER_TOKEN"]
q = urllib.parse.quote(t, safe="")
for form in (t, q, q.lower(), urllib.parse.quote(t), json.dumps(t), html.escape(t),
             "".join(f"&#{ord(c)};" for c in t), "".join(f"\\\\u{ord(c):04x}" for c in t)):
    print(form)
display(HTML(f"<b title='{html.escape(t)}'>{html.escape(t)}</b>"))
t
"""
# jupyter_server's own (untyped) v1 framing, as JupyterLab frames what it sends.
serialize_msg_to_ws_v1: Callable[[list[bytes], str], bytes] = base.serialize_msg_to_ws_v1
RAISE_THE_TOKEN = 'raise ValueError(__import__("os").environ["JUPYTER_TOKEN"])'


@pytest.fixture(scope="module", params=sorted(TOKEN_ALPHABETS))
def jupyter(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Jupyter]:
    root = tmp_path_factory.mktemp(f"spelled-{request.param}")
    (root / "hello.txt").write_text("hello\n")
    running = start_jupyter(root, token=TOKEN_ALPHABETS[request.param]())
    try:
        yield running
    finally:
        stop_jupyter(running)


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveService]:
    async with live_service(tmp_path / "data") as running:
        yield running


class Leaks:
    """Every spelling of one token, looked for in what the browser got."""

    def __init__(self, token: str) -> None:
        self.forms = {name: form.encode() for name, form in written_forms(token).items()}
        needle = needle_of(token)
        assert needle is not None
        self.needle = needle
        self.seen: list[str] = []

    def check(self, where: str, data: bytes | str) -> None:
        raw = data.encode() if isinstance(data, str) else data
        self.seen.append(where)
        for name, form in self.forms.items():
            assert form not in raw, f"{name} spelling in {where}"
        assert self.needle.pattern.search(raw) is None, f"a mixed spelling in {where}"

    def check_response(self, where: str, response: aiohttp.ClientResponse, body: bytes) -> None:
        self.check(f"{where}: status line", f"{response.status} {response.reason}")
        for name, value in response.raw_headers:
            self.check(f"{where}: header", name + b": " + value)
        self.check(f"{where}: body", body)


async def test_no_spelling_of_the_token_reaches_the_browser(
    live: LiveService, jupyter: Jupyter
) -> None:
    name = await register(live, jupyter.url, jupyter.token)
    base = origin(live, name)
    leaks = Leaks(jupyter.token)
    async with browser_session() as browser:
        redeemed = await redeem(browser, await mint(live, name))
        leaks.check_response("redemption", redeemed, b"")
        await pages(browser, base, leaks)
        await kernel_messages(browser, base, leaks)
        await events(browser, base, leaks)
    assert len(leaks.seen) > 200


async def pages(browser: aiohttp.ClientSession, base: str, leaks: Leaks) -> None:
    for path in PATHS:
        # As the browser reads it (decompressed), and as the proxy sent it (gzip).
        async with browser.get(base + path) as page:
            leaks.check_response(path, page, await page.read())
            for step in page.history:
                leaks.check_response(f"{path} (redirect)", step, b"")
        async with browser.get(
            base + path, headers={"Accept-Encoding": "gzip"}, auto_decompress=False
        ) as page:
            sent = await page.read()
            leaks.check_response(f"{path} (compressed)", page, sent)
            if page.headers.get("Content-Encoding") == "gzip":
                leaks.check(f"{path} (decompressed)", gzip.decompress(sent))


async def kernel_messages(browser: aiohttp.ClientSession, base: str, leaks: Leaks) -> None:
    """Both kernel protocols: JSON text, and v1 binary frames."""
    kernel_id = await start_kernel(browser, base)
    for protocols in ((), (KERNEL_PROTOCOL,)):
        session_id = uuid.uuid4().hex
        async with browser.ws_connect(
            f"{base}/api/kernels/{kernel_id}/channels?session_id={session_id}",
            origin=base,
            protocols=protocols,
        ) as ws:
            assert ws.protocol == (protocols[0] if protocols else None)
            for code in (PRINT_THE_TOKEN, RAISE_THE_TOKEN):
                count = await run_cell(ws, code, session_id, leaks, binary=bool(protocols))
                assert count >= 3  # busy, output, idle at least: there was something to see
    async with browser.delete(f"{base}/api/kernels/{kernel_id}", headers={"Origin": base}):
        pass


async def run_cell(
    ws: aiohttp.ClientWebSocketResponse, code: str, session_id: str, leaks: Leaks, *, binary: bool
) -> int:
    """Runs `code`, checking every message until the kernel is idle again."""
    request = execute_request(code, session_id)
    if binary:
        await ws.send_bytes(v1_frame(request))
    else:
        await ws.send_json(request)
    msg_id = request["header"]["msg_id"].encode()
    count = 0
    async with asyncio.timeout(60):
        async for message in ws:
            assert message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY)
            leaks.check("a kernel message", message.data)
            count += 1
            raw = message.data.encode() if isinstance(message.data, str) else message.data
            if msg_id in raw and b'"idle"' in raw:
                return count
    raise AssertionError("the kernel WebSocket closed")


def v1_frame(request: dict[str, object]) -> bytes:
    fields = ("header", "parent_header", "metadata", "content")
    return serialize_msg_to_ws_v1([json.dumps(request[f]).encode() for f in fields], "shell")


async def events(browser: aiohttp.ClientSession, base: str, leaks: Leaks) -> None:
    """Jupyter's event stream: saving a file emits an event."""
    async with browser.ws_connect(f"{base}/api/events/subscribe", origin=base) as ws:
        async with browser.put(
            f"{base}/api/contents/saved.txt",
            json={"type": "file", "format": "text", "content": "x"},
            headers={"Origin": base},
        ) as saved:
            leaks.check_response("save", saved, await saved.read())
        async with asyncio.timeout(30):
            message = await ws.receive()
        leaks.check("an event", message.data)
