"""Forwards one HTTP request to Jupyter and streams the answer back, both bodies unbuffered."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from nbpresign.server.http.bodies import BodyStopped, chunks
from nbpresign.server.proxy import headers, pages
from nbpresign.server.proxy.scrub import Scrubber, is_text
from nbpresign.server.proxy.upstream import Upstream

CHUNK_BYTES = 64 * 1024


async def forward_http(
    request: web.BaseRequest,
    upstream: Upstream,
    client: aiohttp.ClientSession,
    *,
    public_origin: str,
    session_cookie: str,
) -> web.StreamResponse:
    outgoing = headers.for_upstream(
        request,
        jupyter_token=upstream.token,
        public_origin=public_origin,
        session_cookie=session_cookie,
        websocket=False,
    )
    body = chunks(request, CHUNK_BYTES) if request.body_exists else None
    try:
        async with client.request(
            request.method,
            upstream.url(request.raw_path),
            headers=outgoing,
            data=body,
            allow_redirects=False,
        ) as answer:
            scrubber = Scrubber(upstream.token)
            text = bool(upstream.token) and is_text(answer.headers.get("Content-Type", ""))
            response = web.StreamResponse(status=answer.status, reason=answer.reason)
            response.headers.extend(
                headers.downstream_response_headers(
                    answer.headers,
                    upstream_origin=upstream.origin,
                    public_origin=public_origin,
                    scrub=scrubber.text,
                    rewritten_body=text,
                )
            )
            if text and "Content-Encoding" not in answer.headers:
                response.enable_compression()
            await response.prepare(request)
            async for chunk in answer.content.iter_chunked(CHUNK_BYTES):
                await response.write(scrubber.feed(chunk) if text else chunk)
            await response.write(scrubber.flush())
            await response.write_eof()
            return response
    except BodyStopped:  # the browser paused the upload too long (or is gone: then unread)
        return pages.page(408, "Upload stopped", "The upload stopped arriving. Try again.")
    except (TimeoutError, aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError):
        # Nothing was sent yet when connecting fails; mid-stream failures propagate and
        # aiohttp drops the connection, which is all a half-sent response allows.
        return pages.bad_gateway()
