"""Forwards one HTTP request to Jupyter and streams the answer back, both bodies unbuffered."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from nbpresign.server.http.bodies import BodyStopped, chunks
from nbpresign.server.proxy import codings, headers, pages
from nbpresign.server.proxy.scrub import Scrubber, is_text
from nbpresign.server.proxy.upstream import Upstream

CHUNK_BYTES = 64 * 1024
NO_BODY_STATUSES = frozenset({204, 304})  # RFC 9110 6.4.1 (and every 1xx)


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
            return await _relay(request, answer, upstream, public_origin)
    except BodyStopped:  # the browser paused the upload too long (or is gone: then unread)
        return pages.page(408, "Upload stopped", "The upload stopped arriving. Try again.")
    except (TimeoutError, aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError):
        # Nothing was sent yet when connecting fails; mid-stream failures propagate and
        # aiohttp drops the connection, which is all a half-sent response allows.
        return pages.bad_gateway()


async def _relay(
    request: web.BaseRequest,
    answer: aiohttp.ClientResponse,
    upstream: Upstream,
    public_origin: str,
) -> web.StreamResponse:
    scrubber = Scrubber(upstream.token)
    text = (
        bool(upstream.token)
        and _has_body(request.method, answer.status)
        and is_text(answer.headers.get("Content-Type", ""))
    )
    coding = answer.headers.get("Content-Encoding", "")
    if text and not codings.can_decode(coding):
        return pages.bad_gateway()  # a body the token cannot be looked for in
    reason = scrubber.text(answer.reason) if answer.reason else None
    response = web.StreamResponse(status=answer.status, reason=reason)
    response.headers.extend(
        headers.downstream_response_headers(
            answer.headers,
            upstream_origin=upstream.origin,
            public_origin=public_origin,
            scrub=scrubber.text,
            rewritten_body=text,
        )
    )
    if text:
        response.enable_compression()  # for browsers that ask; decoded from Jupyter first
    await response.prepare(request)
    chunks = answer.content.iter_chunked(CHUNK_BYTES)
    if text:
        async for chunk in codings.decoded(chunks, coding):
            await response.write(scrubber.feed(chunk))
        await response.write(scrubber.flush())
    else:
        async for chunk in chunks:
            await response.write(chunk)
    await response.write_eof()
    return response


def _has_body(method: str, status: int) -> bool:
    return method != "HEAD" and status >= 200 and status not in NO_BODY_STATUSES
