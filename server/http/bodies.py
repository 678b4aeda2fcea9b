"""Reading a request's body with a deadline on every read: a client that stops sending is
cut off after `body_timeout` seconds of silence; one that keeps sending, however slowly,
is not.

    body = await read_body(request, max_bytes=64 * 1024)  # the API: small bodies, read whole
    data = chunks(request, 64 * 1024)                      # the proxy: uploads, streamed

The pause allowed is the one the HTTP server set on the request (BODY_TIMEOUT), else
DEFAULT_BODY_TIMEOUT.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from nbpresign.common import errors

DEFAULT_BODY_TIMEOUT = 30.0
BODY_TIMEOUT = web.RequestKey("body_timeout", float)


class BodyStopped(TimeoutError):
    """The body stopped arriving: the client paused past the limit, or went away. A
    TimeoutError, so that aiohttp's client passes it through unwrapped when it ends a
    forwarded upload (anything else it wraps in a ClientOSError)."""


def body_timeout(request: web.BaseRequest) -> float:
    return float(request.get(BODY_TIMEOUT, DEFAULT_BODY_TIMEOUT))


async def read_body(request: web.BaseRequest, *, max_bytes: int) -> bytes:
    """The whole body; every failure of the client's is a ServiceError (a 4xx)."""
    body = bytearray()
    pause = body_timeout(request)
    while chunk := await _read(request, max_bytes + 1, pause):
        body.extend(chunk)
        if len(body) > max_bytes:
            raise errors.REQUEST_TOO_LARGE("The request body is too large.")
    return bytes(body)


async def _read(request: web.BaseRequest, size: int, pause: float) -> bytes:
    try:
        async with asyncio.timeout(pause):
            return await request.content.read(size)
    except TimeoutError:
        raise errors.REQUEST_TIMEOUT("The request body stopped arriving.") from None
    except (ConnectionError, web.RequestPayloadError):
        # The client went away, or sent a body its own headers contradict.
        raise errors.SERIALIZATION("The request body is incomplete.") from None


async def chunks(request: web.BaseRequest, size: int) -> AsyncIterator[bytes]:
    """The body as it arrives, `size` bytes at most at a time; BodyStopped if it stops."""
    pause = body_timeout(request)
    while True:
        try:
            async with asyncio.timeout(pause):
                chunk = await request.content.read(size)
        except TimeoutError:
            raise BodyStopped("the request body stopped arriving") from None
        except (ConnectionError, web.RequestPayloadError):
            raise BodyStopped("the request body is incomplete") from None
        if not chunk:
            return
        yield chunk
