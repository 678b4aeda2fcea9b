"""forward_http against an aiohttp upstream that does what Jupyter might, and worse: the
token in a compressed body, a reason phrase, a header's name, a redirect."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web

from nbpresign.server.proxy.forward import forward_http
from nbpresign.server.proxy.upstream import Upstream

TOKEN = "<tok>&'+/=="
QUOTED = "%3Ctok%3E%26%27%2B/%3D%3D"
PUBLIC = "http://nb.localhost:1"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def gzipped(request: web.Request) -> web.StreamResponse:
    body = gzip.compress(f'<body data-jupyter-api-token="{QUOTED}">'.encode() * 1000)
    return web.Response(
        body=body, headers={"Content-Type": "text/html", "Content-Encoding": "gzip"}
    )


async def brotli(request: web.Request) -> web.StreamResponse:
    return web.Response(
        body=b"\x8b\x02\x80cannot be read",
        headers={"Content-Type": "text/html", "Content-Encoding": "br"},
    )


async def reason(request: web.Request) -> web.StreamResponse:
    return web.Response(status=404, reason=f"No such token {TOKEN}", text="x")


async def named(request: web.Request) -> web.StreamResponse:
    return web.Response(
        text="x",
        headers={
            "X-" + quote(TOKEN, safe=""): "1",  # a name may not hold "/": all encoded
            "X-Note": f"t={QUOTED}",
            "Set-Cookie": f"a={TOKEN}",
        },
    )


async def redirect(request: web.Request) -> web.StreamResponse:
    upstream = f"http://{request.host}"
    target = request.query["to"].replace("UPSTREAM", upstream)
    return web.Response(status=302, headers={"Location": target})


async def binary(request: web.Request) -> web.StreamResponse:
    return web.Response(body=b"\x00" + TOKEN.encode(), content_type="image/png")


async def empty(request: web.Request) -> web.StreamResponse:
    return web.Response(status=204)


ROUTES: dict[str, Handler] = {
    "/empty": empty,
    "/gzipped": gzipped,
    "/brotli": brotli,
    "/reason": reason,
    "/named": named,
    "/redirect": redirect,
    "/binary": binary,
}


@pytest.fixture
async def proxied() -> AsyncIterator[str]:
    """The proxy's address; behind it, ROUTES."""
    upstream_app = web.Application()
    for path, handler in ROUTES.items():
        upstream_app.router.add_get(path, handler)
    upstream_runner = web.AppRunner(upstream_app)
    await upstream_runner.setup()
    await web.TCPSite(upstream_runner, "127.0.0.1", 0).start()
    port = upstream_runner.addresses[0][1]

    async with aiohttp.ClientSession(auto_decompress=False) as to_upstream:

        async def proxy(request: web.BaseRequest) -> web.StreamResponse:
            target = Upstream(f"http://127.0.0.1:{port}", "/", TOKEN)
            return await forward_http(
                request, target, to_upstream, public_origin=PUBLIC, session_cookie="s"
            )

        proxy_runner = web.ServerRunner(web.Server(proxy))
        await proxy_runner.setup()
        await web.TCPSite(proxy_runner, "127.0.0.1", 0).start()
        try:
            yield f"http://127.0.0.1:{proxy_runner.addresses[0][1]}"
        finally:
            await proxy_runner.cleanup()
            await upstream_runner.cleanup()


def clean(text: str) -> bool:
    return TOKEN not in text and QUOTED not in text and QUOTED.lower() not in text


@pytest.mark.parametrize("accept", ["gzip", "identity"])
async def test_a_compressed_body_is_decoded_scrubbed_and_compressed_again(
    proxied: str, accept: str
) -> None:
    async with (
        aiohttp.ClientSession() as browser,
        browser.get(f"{proxied}/gzipped", headers={"Accept-Encoding": accept}) as response,
    ):
        assert response.status == 200
        assert response.headers.get("Content-Encoding") == (
            None if accept == "identity" else "gzip"
        )
        body = await response.text()
    assert body == '<body data-jupyter-api-token="">' * 1000


async def test_a_body_that_cannot_be_decoded_is_not_passed_on(proxied: str) -> None:
    async with aiohttp.ClientSession() as browser, browser.get(f"{proxied}/brotli") as response:
        assert response.status == 502
        assert b"cannot be read" not in await response.read()


async def test_the_reason_phrase_and_headers_are_scrubbed(proxied: str) -> None:
    async with aiohttp.ClientSession() as browser:
        async with browser.get(f"{proxied}/reason") as response:
            assert response.status == 404
            assert response.reason == "No such token "
        async with browser.get(f"{proxied}/named") as response:
            assert all(clean(f"{k}: {v}") for k, v in response.headers.items())
            assert not any(k.startswith("X-%3C") for k in response.headers)
            assert response.headers["X-Note"] == "t="
            assert response.headers["Set-Cookie"] == "a="


@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ("UPSTREAM/lab", f"{PUBLIC}/lab"),
        ("//evil.example/", "/evil.example/"),
        ("/\\evil.example/", "/evil.example/"),
    ],
)
async def test_redirects_stay_on_the_notebook(proxied: str, to: str, expected: str) -> None:
    async with (
        aiohttp.ClientSession() as browser,
        browser.get(f"{proxied}/redirect", params={"to": to}, allow_redirects=False) as response,
    ):
        assert response.status == 302
        assert response.headers["Location"] == expected


async def test_binary_bodies_pass_unchanged(proxied: str) -> None:
    async with aiohttp.ClientSession() as browser, browser.get(f"{proxied}/binary") as response:
        assert await response.read() == b"\x00" + TOKEN.encode()


async def test_a_response_without_a_body_gets_none(proxied: str) -> None:
    """No Content-Type reads as text, but a 204 or a HEAD answer has no body to compress:
    the connection stays good for the next request."""
    async with aiohttp.ClientSession() as browser:
        for _ in range(3):
            async with browser.get(f"{proxied}/empty") as response:
                assert response.status == 204
                assert await response.read() == b""
            async with browser.head(f"{proxied}/gzipped") as response:
                assert response.status == 200
