"""Relays one WebSocket between the browser and Jupyter: text, binary and close codes as
sent, but for the Jupyter token, scrubbed from every message to the browser."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

import aiohttp
from aiohttp import web

from nbpresign.server.proxy import headers, pages
from nbpresign.server.proxy.kernel_messages import scrub_binary
from nbpresign.server.proxy.scrub import Scrubber
from nbpresign.server.proxy.sockets import CLOSE_GOING_AWAY, CLOSE_REVOKED, OpenSockets, Relay
from nbpresign.server.proxy.upstream import Upstream

MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # kernel messages carry whole outputs (images, tables)
NORMAL_CLOSE = 1000

Socket = web.WebSocketResponse | aiohttp.ClientWebSocketResponse
T = TypeVar("T", str, bytes)


def _unchanged(data: T) -> T:
    return data


def requested_protocols(request: web.BaseRequest) -> list[str]:
    offered = request.headers.get("Sec-WebSocket-Protocol", "")
    return [p.strip() for p in offered.split(",") if p.strip()]


async def relay_websocket(
    request: web.BaseRequest,
    upstream: Upstream,
    client: aiohttp.ClientSession,
    *,
    relay: Relay,
    open_sockets: OpenSockets,
    public_origin: str,
    session_cookie: str,
) -> web.StreamResponse:
    outgoing = headers.for_upstream(
        request,
        jupyter_token=upstream.token,
        public_origin=public_origin,
        session_cookie=session_cookie,
        websocket=True,
    )
    try:
        inner = await client.ws_connect(
            upstream.url(request.raw_path, websocket=True),
            headers=outgoing,
            protocols=requested_protocols(request),
            max_msg_size=MAX_MESSAGE_BYTES,
        )
    except (TimeoutError, aiohttp.ClientError):
        return pages.bad_gateway()
    # Answer the browser with the subprotocol Jupyter chose (v1.kernel.websocket.jupyter.org).
    outer = web.WebSocketResponse(
        protocols=(inner.protocol,) if inner.protocol else (), max_msg_size=MAX_MESSAGE_BYTES
    )
    await outer.prepare(request)
    scrubber = Scrubber(upstream.token)
    protocol = inner.protocol or ""

    def binary(data: bytes) -> bytes:
        return scrub_binary(data, protocol, scrubber.whole)

    with open_sockets.registered(relay) as revoked:
        try:
            if await _relay(outer, inner, revoked, text=scrubber.text, binary=binary):
                if relay.going_away:
                    await inner.close(code=CLOSE_GOING_AWAY)
                    await outer.close(code=CLOSE_GOING_AWAY, message=b"server shutting down")
                else:
                    await outer.close(code=CLOSE_REVOKED, message=b"access ended")
        finally:
            await inner.close()
            await outer.close()
    return outer


async def _relay(
    outer: web.WebSocketResponse,
    inner: aiohttp.ClientWebSocketResponse,
    revoked: asyncio.Event,
    *,
    text: Callable[[str], str],
    binary: Callable[[bytes], bytes],
) -> bool:
    """Relays until either side closes (False) or access is revoked (True); `text` and
    `binary` rewrite the messages to the browser."""
    tasks = [
        asyncio.ensure_future(_pump(outer, inner)),
        asyncio.ensure_future(_pump(inner, outer, text=text, binary=binary)),
        asyncio.ensure_future(revoked.wait()),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return revoked.is_set()


async def _pump(
    source: Socket,
    sink: Socket,
    *,
    text: Callable[[str], str] = _unchanged,
    binary: Callable[[bytes], bytes] = _unchanged,
) -> None:
    async for message in source:
        if message.type == aiohttp.WSMsgType.TEXT:
            await sink.send_str(text(message.data))
        elif message.type == aiohttp.WSMsgType.BINARY:
            await sink.send_bytes(binary(message.data))
        elif message.type == aiohttp.WSMsgType.ERROR:
            break
    # The source closed: pass its close code on.
    await sink.close(code=source.close_code or NORMAL_CLOSE)
