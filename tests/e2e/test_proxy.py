"""Opening an AuthorizedUrl: redemption, sessions, and the proxy to a real Jupyter server."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from nbpresign.client import AsyncClient

from conftest import sign_http
from databases import BACKENDS, database_for
from notebooks import (
    Jupyter,
    LiveService,
    LoopbackResolver,
    browser_session,
    execute_request,
    free_port,
    jupyter_server,
    live_service,
    mint,
    origin,
    redeem,
    register,
    sign_in_reason,
    start_jupyter,
    start_kernel,
    stop_jupyter,
)

KERNEL_PROTOCOL = "v1.kernel.websocket.jupyter.org"


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jupyter]:
    root = tmp_path_factory.mktemp("notebooks")
    (root / "hello.txt").write_text("hello from jupyter\n")
    (root / "big.bin").write_bytes(hashlib.sha256(b"seed").digest() * (8 * 1024 * 1024 // 32))
    with jupyter_server(root) as running:
        yield running


@pytest.fixture(params=BACKENDS)
async def live(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LiveService]:
    async with database_for(request.param) as db, live_service(tmp_path / "data", db=db) as running:
        yield running


@pytest.fixture
async def notebook(live: LiveService, jupyter: Jupyter) -> str:
    return await register(live, jupyter.url, jupyter.token)


async def test_redeem_sets_the_session_cookie_and_drops_the_token(
    live: LiveService, notebook: str
) -> None:
    url = await mint(live, notebook, 1800)
    async with browser_session() as browser:
        response = await redeem(browser, url)
        assert response.status == 303
        assert response.headers["Location"] == f"{origin(live, notebook)}/"
        cookie = response.headers["Set-Cookie"]
        assert cookie.startswith("nbpresign-session=")
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "samesite", "path", "max-age"} <= attributes
        assert "SameSite=Lax" in cookie
        assert "Max-Age=1800" in cookie
        assert "Domain" not in cookie  # host-only: this notebook's origin alone
        assert "Secure" not in cookie  # plain http here; https templates add it
        async with browser.get(f"{origin(live, notebook)}/api/status") as status:
            assert status.status == 200
            assert "started" in await status.json()


async def test_redeem_keeps_the_path_and_other_parameters(live: LiveService, notebook: str) -> None:
    url = await mint(live, notebook)
    parts = urlsplit(url)
    deep = f"{parts.scheme}://{parts.netloc}/lab/tree/my%20file.ipynb?{parts.query}&reset=1"
    async with browser_session() as browser:
        response = await redeem(browser, deep)
        assert response.status == 303
        assert (
            response.headers["Location"]
            == f"{origin(live, notebook)}/lab/tree/my%20file.ipynb?reset=1"
        )


async def test_a_token_is_good_for_one_redemption(live: LiveService, notebook: str) -> None:
    url = await mint(live, notebook)
    async with browser_session() as first, browser_session() as second:
        assert (await redeem(first, url)).status == 303
        replay = await redeem(second, url)
        assert sign_in_reason(replay) == "link"


@pytest.mark.parametrize("part", [0, 1, 2])
async def test_a_tampered_token_is_refused(live: LiveService, notebook: str, part: int) -> None:
    url = await mint(live, notebook)
    token = parse_qs(urlsplit(url).query)["authToken"][0]
    pieces = token.split(".")
    pieces[part] = pieces[part][:-2] + ("AA" if not pieces[part].endswith("AA") else "BB")
    async with browser_session() as browser:
        refused = await redeem(browser, url.replace(token, ".".join(pieces)))
        assert sign_in_reason(refused) == "link"


async def test_a_token_for_another_notebook_is_refused(
    live: LiveService, jupyter: Jupyter, notebook: str
) -> None:
    other = await register(live, jupyter.url, jupyter.token)
    url = await mint(live, notebook)
    async with browser_session() as browser:
        refused = await redeem(browser, url.replace(f"{notebook}.localhost", f"{other}.localhost"))
        assert sign_in_reason(refused) == "link"


async def test_the_url_expires_after_5_minutes(live: LiveService, notebook: str) -> None:
    almost, late = await mint(live, notebook), await mint(live, notebook)
    live.clock.advance(299)
    async with browser_session() as browser:
        assert (await redeem(browser, almost)).status == 303
    live.clock.advance(1)
    async with browser_session() as browser:
        assert sign_in_reason(await redeem(browser, late)) == "link"


async def test_the_session_lasts_exactly_the_duration_asked_for(
    live: LiveService, notebook: str
) -> None:
    url = await mint(live, notebook, 1800)
    async with browser_session() as browser:
        await redeem(browser, url)
        live.clock.advance(1799)
        async with browser.get(f"{origin(live, notebook)}/api/status", allow_redirects=False) as ok:
            assert ok.status == 200
        live.clock.advance(1)
        async with browser.get(
            f"{origin(live, notebook)}/api/status", allow_redirects=False
        ) as over:
            assert sign_in_reason(over) == "session"


async def test_no_session_goes_to_the_sign_in_page(live: LiveService, notebook: str) -> None:
    async with browser_session() as browser, browser.get(f"{origin(live, notebook)}/lab") as page:
        # Followed to the service's own sign-in page, which says why in plain words.
        assert page.status == 401
        assert page.url.path == "/_nbpresign/sign-in"
        text = await page.text()
        assert "session has ended" in text
        assert "Traceback" not in text


async def test_a_session_cookie_is_good_for_its_own_notebook_only(
    live: LiveService, jupyter: Jupyter, notebook: str
) -> None:
    other = await register(live, jupyter.url, jupyter.token)
    async with browser_session() as browser:
        response = await redeem(browser, await mint(live, notebook))
        cookie = response.cookies["nbpresign-session"].value
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=LoopbackResolver())) as raw,
        raw.get(
            f"{origin(live, other)}/api/status",
            headers={"Cookie": f"nbpresign-session={cookie}"},
            allow_redirects=False,
        ) as refused,
    ):
        assert sign_in_reason(refused) == "session"


async def test_the_jupyter_token_never_reaches_the_browser(
    live: LiveService, jupyter: Jupyter, notebook: str
) -> None:
    async with browser_session() as browser:
        await redeem(browser, await mint(live, notebook))
        for path in (
            "/",
            "/lab",
            "/lab/tree/hello.txt",
            "/api/contents",
            "/login?next=%2Flab",
            "/api/me",
            "/tree",
        ):
            async with browser.get(origin(live, notebook) + path) as page:
                body = await page.read()
                assert jupyter.token.encode() not in body, path
                assert jupyter.token not in str(page.headers), path
                assert all(jupyter.token not in str(h.headers) for h in page.history), path


async def test_files_stream_through_unchanged(
    live: LiveService, jupyter: Jupyter, notebook: str
) -> None:
    expected = (jupyter.root / "big.bin").read_bytes()
    async with browser_session() as browser:
        await redeem(browser, await mint(live, notebook))
        async with browser.get(f"{origin(live, notebook)}/files/big.bin") as download:
            assert download.status == 200
            digest = hashlib.sha256()
            size = 0
            async for chunk in download.content.iter_chunked(256 * 1024):
                digest.update(chunk)
                size += len(chunk)
        assert size == len(expected)
        assert digest.hexdigest() == hashlib.sha256(expected).hexdigest()


async def test_uploads_stream_through(live: LiveService, jupyter: Jupyter, notebook: str) -> None:
    body = {"type": "file", "format": "text", "content": "x" * 3_000_000}
    async with browser_session() as browser:
        await redeem(browser, await mint(live, notebook))
        async with browser.put(
            f"{origin(live, notebook)}/api/contents/upload.txt",
            data=io.BytesIO(json.dumps(body).encode()),
            headers={"Origin": origin(live, notebook), "Content-Type": "application/json"},
        ) as saved:
            assert saved.status in (200, 201)
    assert (jupyter.root / "upload.txt").stat().st_size == 3_000_000


async def test_cross_site_writes_are_refused(live: LiveService, notebook: str) -> None:
    async with browser_session() as browser:
        await redeem(browser, await mint(live, notebook))
        target = f"{origin(live, notebook)}/api/kernels"
        for headers in (
            {"Origin": "http://evil.localhost:1"},
            {},
            {"Referer": "http://evil.localhost:1/x"},
        ):
            async with browser.post(target, json={"name": "python3"}, headers=headers) as refused:
                assert refused.status == 403, headers
                assert "another site" in await refused.text()


async def execute(ws: aiohttp.ClientWebSocketResponse, code: str, session_id: str) -> str:
    request = execute_request(code, session_id)
    await ws.send_json(request)
    async with asyncio.timeout(60):
        while True:
            message = await ws.receive_json()
            if message.get("parent_header", {}).get("msg_id") != request["header"]["msg_id"]:
                continue
            if message["msg_type"] == "execute_result":
                result: str = message["content"]["data"]["text/plain"]
                return result
            if message["msg_type"] == "error":
                raise AssertionError(message["content"])


async def test_a_kernel_runs_a_cell_over_the_proxied_websocket(
    live: LiveService, notebook: str
) -> None:
    base = origin(live, notebook)
    async with browser_session() as browser:
        await redeem(browser, await mint(live, notebook))
        kernel_id = await start_kernel(browser, base)
        session_id = uuid.uuid4().hex
        async with browser.ws_connect(
            f"{base}/api/kernels/{kernel_id}/channels?session_id={session_id}", origin=base
        ) as ws:
            assert await execute(ws, "1+1", session_id) == "2"
        async with browser.delete(
            f"{base}/api/kernels/{kernel_id}", headers={"Origin": base}
        ) as deleted:
            assert deleted.status == 204


async def test_the_kernel_subprotocol_is_negotiated_through(
    live: LiveService, notebook: str
) -> None:
    base = origin(live, notebook)
    async with browser_session() as browser:
        await redeem(browser, await mint(live, notebook))
        kernel_id = await start_kernel(browser, base)
        async with browser.ws_connect(
            f"{base}/api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}",
            origin=base,
            protocols=(KERNEL_PROTOCOL,),
        ) as ws:
            assert ws.protocol == KERNEL_PROTOCOL
        async with browser.delete(f"{base}/api/kernels/{kernel_id}", headers={"Origin": base}):
            pass


async def test_websockets_need_the_notebooks_origin(live: LiveService, notebook: str) -> None:
    base = origin(live, notebook)
    async with browser_session() as browser:
        await redeem(browser, await mint(live, notebook))
        kernel_id = await start_kernel(browser, base)
        for bad in ("http://evil.localhost:1", None):
            with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
                await browser.ws_connect(f"{base}/api/kernels/{kernel_id}/channels", origin=bad)
            assert caught.value.status == 403


async def test_stopping_the_instance_ends_access_at_once(live: LiveService, notebook: str) -> None:
    base = origin(live, notebook)
    async with browser_session() as browser:
        await redeem(browser, await mint(live, notebook))
        kernel_id = await start_kernel(browser, base)
        session_id = uuid.uuid4().hex
        async with browser.ws_connect(
            f"{base}/api/kernels/{kernel_id}/channels?session_id={session_id}", origin=base
        ) as ws:
            assert await execute(ws, "40+2", session_id) == "42"
            async with AsyncClient(live.grpc_target, identity=live.identity) as client:
                await client.stop_notebook_instance(notebook)
            async with asyncio.timeout(10):
                while not ws.closed:
                    await ws.receive()
            assert ws.close_code == 1008
        async with browser.get(f"{base}/api/status", allow_redirects=False) as after:
            assert sign_in_reason(after) == "unavailable"
        async with AsyncClient(live.grpc_target, identity=live.identity) as client:
            await client.start_notebook_instance(notebook)
        # Stopping ended the session for good, as in SageMaker: a start is a new life.
        async with browser.get(f"{base}/api/status", allow_redirects=False) as again:
            assert sign_in_reason(again) == "session"


async def test_a_url_from_before_a_stop_never_opens_after_the_start(
    live: LiveService, notebook: str
) -> None:
    url = await mint(live, notebook)
    async with AsyncClient(live.grpc_target, identity=live.identity) as client:
        await client.stop_notebook_instance(notebook)
        await client.start_notebook_instance(notebook)
    async with browser_session() as browser:
        assert sign_in_reason(await redeem(browser, url)) == "link"
        fresh = await redeem(browser, await mint(live, notebook))
        assert fresh.status == 303


async def test_a_cookie_from_a_deleted_instance_never_opens_its_successor(
    live: LiveService, jupyter: Jupyter, tmp_path: Path
) -> None:
    name = await register(live, jupyter.url, jupyter.token)
    base = origin(live, name)
    (tmp_path / "other").mkdir()
    with jupyter_server(tmp_path / "other") as other:
        async with browser_session() as browser:
            await redeem(browser, await mint(live, name))
            async with browser.get(f"{base}/api/status") as before:
                assert before.status == 200
            async with AsyncClient(live.grpc_target, identity=live.identity) as client:
                await client.stop_notebook_instance(name)
                await client.delete_notebook_instance(name)
                await client.register_notebook_instance(name, other.url, other.token)
            # Same name, another Jupyter server: the old cookie opens nothing of it.
            async with browser.get(f"{base}/api/status", allow_redirects=False) as after:
                assert sign_in_reason(after) == "session"
            async with browser.get(f"{base}/api/contents", allow_redirects=False) as listing:
                assert listing.status == 302


async def test_deleting_the_instance_ends_access(live: LiveService, notebook: str) -> None:
    base = origin(live, notebook)
    async with browser_session() as browser:
        await redeem(browser, await mint(live, notebook))
        async with AsyncClient(live.grpc_target, identity=live.identity) as client:
            await client.stop_notebook_instance(notebook)
            await client.delete_notebook_instance(notebook)
        async with browser.get(f"{base}/api/status", allow_redirects=False) as after:
            assert sign_in_reason(after) == "unavailable"


async def test_jupyter_down_is_a_502_page_and_recovers(live: LiveService, tmp_path: Path) -> None:
    port = free_port()
    name = await register(live, f"http://127.0.0.1:{port}/", "later-token")
    base = origin(live, name)
    async with browser_session() as browser:
        await redeem(browser, await mint(live, name))
        async with browser.get(f"{base}/api/status") as down:
            assert down.status == 502
            assert "did not answer" in await down.text()
        root = tmp_path / "late"
        root.mkdir()
        late = await asyncio.to_thread(start_jupyter, root, port)
        try:
            # Same instance, same session: its registered token now matches nothing, so
            # point the instance at the running server's real token through the storage.
            async with AsyncClient(live.grpc_target, identity=live.identity) as client:
                await client.stop_notebook_instance(name)
                await client.delete_notebook_instance(name)
            await register(live, late.url, late.token, name)
            await redeem(browser, await mint(live, name))
            async with browser.get(f"{base}/api/status") as up:
                assert up.status == 200
        finally:
            await asyncio.to_thread(stop_jupyter, late)


async def test_a_configured_sign_in_url_is_used(tmp_path: Path, jupyter: Jupyter) -> None:
    async with live_service(
        tmp_path / "data", sign_in_url="https://console.example.com/signin"
    ) as live:
        name = await register(live, jupyter.url, jupyter.token)
        async with (
            browser_session() as browser,
            browser.get(f"{origin(live, name)}/lab", allow_redirects=False) as refused,
        ):
            assert refused.status == 302
            assert refused.headers["Location"] == "https://console.example.com/signin"


async def test_the_api_host_still_answers_aws_json(live: LiveService) -> None:
    endpoint = f"http://127.0.0.1:{live.http_port}/"
    body = b'{"NotebookInstanceName": "x"}'
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "SageMaker.DescribeNotebookInstance",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            endpoint, data=body, headers=sign_http(live.identity, endpoint, body, headers)
        ) as response,
    ):
        assert (await response.json(content_type=None))["message"] == "RecordNotFound"


async def test_path_prefix_mode(tmp_path: Path) -> None:
    """One origin for every notebook, /nb/NAME/ each; Jupyter's base_url is that path."""
    root = tmp_path / "prefixed"
    root.mkdir()
    jupyter = await asyncio.to_thread(start_jupyter, root, None, 60, "/nb/pfx/")
    try:
        async with live_service(
            tmp_path / "data", url_template="http://localhost:{port}/nb/{name}/"
        ) as live:
            await register(live, jupyter.url, jupyter.token, "pfx")
            url = await mint(live, "pfx")
            assert url.startswith(f"http://localhost:{live.http_port}/nb/pfx/?authToken=")
            async with browser_session() as browser:
                async with browser.get(url, allow_redirects=False) as redeemed:
                    assert redeemed.status == 303
                    assert (
                        redeemed.headers["Location"] == f"http://localhost:{live.http_port}/nb/pfx/"
                    )
                    assert "Path=/nb/pfx/" in redeemed.headers["Set-Cookie"]
                base = f"http://localhost:{live.http_port}/nb/pfx"
                async with browser.get(f"{base}/api/status") as status:
                    assert status.status == 200
                    assert "started" in await status.json()
    finally:
        await asyncio.to_thread(stop_jupyter, jupyter)
