"""The proxy's pieces on their own: header rules, sessions, host matching."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from nbpresign.server.iam.identities import Principal
from nbpresign.server.notebooks import sessions, signing_keys, tokens
from nbpresign.server.notebooks.urls import UrlTemplate
from nbpresign.server.proxy import headers
from nbpresign.server.proxy.forward import forward_http
from nbpresign.server.proxy.scrub import Scrubber
from nbpresign.server.proxy.upstream import Upstream

ARN = "arn:aws:sagemaker:us-east-1:000000000000:notebook-instance/nb"


def proxy_of(pairs: list[tuple[str, str]]) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict(pairs))


def test_request_headers_to_jupyter() -> None:
    incoming = proxy_of(
        [
            ("Host", "nb.localhost:8080"),
            ("Connection", "keep-alive, X-Private"),
            ("X-Private", "hop"),
            ("Keep-Alive", "timeout=5"),
            ("Authorization", "token browser-supplied"),
            ("Cookie", "_xsrf=abc; nbpresign-session=SESSION; theme=dark"),
            ("Origin", "http://nb.localhost:8080"),
            ("Accept", "text/html"),
            ("Accept-Encoding", "gzip"),
            ("X-Forwarded-For", "10.0.0.1"),
            ("Content-Length", "12"),
        ]
    )
    out = headers.upstream_request_headers(
        incoming,
        jupyter_token="jt",
        session_cookie="nbpresign-session",
        peer="127.0.0.1",
        public_host="nb.localhost:8080",
        public_scheme="http",
    )
    assert dict(out) == {
        "Accept": "text/html",
        "Content-Length": "12",
        "Cookie": "_xsrf=abc; theme=dark",
        "Authorization": "token jt",
        "X-Forwarded-For": "10.0.0.1, 127.0.0.1",
        "X-Forwarded-Host": "nb.localhost:8080",
        "X-Forwarded-Proto": "http",
    }


def test_websocket_handshake_headers_are_left_to_aiohttp() -> None:
    incoming = proxy_of(
        [
            ("Sec-WebSocket-Key", "k"),
            ("Sec-WebSocket-Version", "13"),
            ("Upgrade", "websocket"),
            ("Cookie", "a=b"),
        ]
    )
    out = headers.upstream_request_headers(
        incoming,
        jupyter_token="",
        session_cookie="s",
        peer="::1",
        public_host="h",
        public_scheme="https",
        websocket=True,
    )
    assert "Sec-WebSocket-Key" not in out
    assert "Upgrade" not in out
    assert "Authorization" not in out  # a Jupyter without a token gets none
    assert out["Cookie"] == "a=b"


def test_response_headers_to_the_browser() -> None:
    answer = proxy_of(
        [
            ("Content-Type", "text/html"),
            ("Content-Length", "100"),
            ("Transfer-Encoding", "chunked"),
            ("Location", "http://127.0.0.1:8888/lab?token=jt"),
            ("Set-Cookie", "_xsrf=1; Path=/"),
        ]
    )
    out = headers.downstream_response_headers(
        answer,
        upstream_origin="http://127.0.0.1:8888",
        public_origin="http://nb.localhost:8080",
        scrub=Scrubber("jt").text,
        rewritten_body=True,
    )
    assert dict(out) == {
        "Content-Type": "text/html",
        "Location": "http://nb.localhost:8080/lab?token=",
        "Set-Cookie": "_xsrf=1; Path=/",
    }


def grant(now: float = 1000.0, seconds: int = 1800) -> tokens.UrlGrant:
    return tokens.new_grant(
        instance_arn=ARN,
        instance_key="nb",
        incarnation="i1",
        principal=Principal("arn:aws:iam::000000000000:user/p", "p", "AKIAP"),
        session_seconds=seconds,
        now=now,
    )


def test_session_round_trip_and_end() -> None:
    ring = signing_keys.new_key_ring()
    session = sessions.start(grant(), now=2000.0)
    cookie = sessions.encode(session, ring)
    assert sessions.decode(cookie, ring, instance_arn=ARN, now=2000.0 + 1799) == session
    assert sessions.decode(cookie, ring, instance_arn=ARN, now=2000.0 + 1800) is None
    assert sessions.decode(cookie, ring, instance_arn=ARN + "x", now=2001.0) is None


def test_url_tokens_and_session_cookies_are_not_interchangeable() -> None:
    ring = signing_keys.new_key_ring()
    url_token = tokens.encode(grant(), ring)
    assert sessions.decode(url_token, ring, instance_arn=ARN, now=1001.0) is None
    cookie = sessions.encode(sessions.start(grant(), 1000.0), ring)
    with pytest.raises(tokens.InvalidToken):
        tokens.decode(cookie, ring, audience=ARN, now=1001.0)


def test_a_forged_session_is_refused() -> None:
    cookie = sessions.encode(sessions.start(grant(), 1000.0), signing_keys.new_key_ring())
    assert (
        sessions.decode(cookie, signing_keys.new_key_ring(), instance_arn=ARN, now=1001.0) is None
    )
    assert (
        sessions.decode("not.a.jwt", signing_keys.new_key_ring(), instance_arn=ARN, now=1001.0)
        is None
    )


@pytest.mark.parametrize(
    ("template", "host", "path", "expected"),
    [
        ("http://{name}.localhost:{port}/", "NB-1.localhost:8080", "/lab", ("nb-1", "/")),
        ("http://{name}.localhost:{port}/", "localhost:8080", "/", None),
        ("http://{name}.localhost:{port}/", "127.0.0.1:8080", "/", None),
        ("http://{name}.localhost:{port}/", "nb.localhost:9999", "/", None),
        ("http://{name}.localhost:{port}/", "a.b.localhost:8080", "/", None),
        ("http://{name}.localhost:{port}/", "-x.localhost:8080", "/", None),
        (
            "https://{name}.nb.{region}.example.com/",
            "nb.nb.us-east-1.example.com",
            "/tree",
            ("nb", "/"),
        ),
        (
            "http://proxy.example.com:{port}/nb/{name}/",
            "proxy.example.com:8080",
            "/nb/abc/lab",
            ("abc", "/nb/abc/"),
        ),
        ("http://proxy.example.com:{port}/nb/{name}/", "proxy.example.com:8080", "/nb/abc", None),
        ("http://proxy.example.com:{port}/nb/{name}/", "proxy.example.com:8080", "/", None),
    ],
)
def test_which_requests_are_a_notebooks(
    template: str, host: str, path: str, expected: tuple[str, str] | None
) -> None:
    found = UrlTemplate(template, "us-east-1", 8080).match(host, path)
    assert (None if found is None else (found.key, found.prefix)) == expected


async def test_responses_stream_without_full_buffering() -> None:
    """The browser gets the first bytes while the upstream is still sending: forward_http
    relays chunk by chunk. (An aiohttp upstream here, because only it can be told to pause
    mid-response; the Jupyter tests check the bytes themselves.)"""
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)
        await response.write(b"first chunk")
        await release.wait()
        await response.write(b" and the rest")
        await response.write_eof()
        return response

    upstream_runner = web.AppRunner(web.Application())
    upstream_runner.app.router.add_get("/big", slow)
    await upstream_runner.setup()
    upstream_site = web.TCPSite(upstream_runner, "127.0.0.1", 0)
    await upstream_site.start()
    upstream_port = upstream_runner.addresses[0][1]

    async with aiohttp.ClientSession(auto_decompress=False) as to_upstream:

        async def proxy(request: web.Request) -> web.StreamResponse:
            target = Upstream(f"http://127.0.0.1:{upstream_port}", "/", "")
            return await forward_http(
                request,
                target,
                to_upstream,
                public_origin="http://nb.localhost:1",
                session_cookie="s",
            )

        proxy_runner = web.AppRunner(web.Application())
        proxy_runner.app.router.add_get("/big", proxy)
        await proxy_runner.setup()
        await web.TCPSite(proxy_runner, "127.0.0.1", 0).start()
        proxy_port = proxy_runner.addresses[0][1]
        try:
            async with (
                aiohttp.ClientSession() as browser,
                browser.get(f"http://127.0.0.1:{proxy_port}/big") as response,
            ):
                first = await asyncio.wait_for(
                    response.content.readexactly(len(b"first chunk")), timeout=5
                )
                assert first == b"first chunk"
                assert (
                    not release.is_set()
                )  # the upstream has not finished: nothing was buffered whole
                release.set()
                assert await response.content.read() == b" and the rest"
        finally:
            await proxy_runner.cleanup()
            await upstream_runner.cleanup()
