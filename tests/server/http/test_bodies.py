"""Reading request bodies with a deadline on each read, against a real aiohttp server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from nbpresign.common import errors
from nbpresign.common.errors import ServiceError
from nbpresign.server.http.bodies import BODY_TIMEOUT, BodyStopped, chunks, read_body

PAUSE = 0.3

Reader = Callable[[web.BaseRequest], Awaitable[str]]


async def whole(request: web.BaseRequest) -> str:
    return f"{len(await read_body(request, max_bytes=100))} bytes"


async def streamed(request: web.BaseRequest) -> str:
    return f"{sum([len(chunk) async for chunk in chunks(request, 10)])} bytes"


noted: list[str] = []


@pytest.fixture
async def serving() -> AsyncIterator[Callable[[Reader], Awaitable[int]]]:
    """Serves with a reader; what it returns or raises is the response's text, and is
    noted in noted."""
    runners: list[web.ServerRunner] = []
    noted.clear()

    async def serve(reader: Reader) -> int:
        async def handle(request: web.BaseRequest) -> web.StreamResponse:
            request[BODY_TIMEOUT] = PAUSE
            try:
                response = web.Response(text=await reader(request))
            except ServiceError as error:
                response = web.Response(status=error.code.http, text=error.code.aws)
            except BodyStopped:
                response = web.Response(status=408, text="BodyStopped")
            assert isinstance(response.text, str)
            noted.append(response.text)
            return response

        runner = web.ServerRunner(web.Server(handle))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return site.port

    yield serve
    for runner in runners:
        await runner.cleanup()


async def send(port: int, head: bytes, pieces: list[bytes], gap: float) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head)
    for piece in pieces:
        await asyncio.sleep(gap)
        writer.write(piece)
    response = await reader.read(1000)
    writer.close()
    return response


def post(length: int) -> bytes:
    return f"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {length}\r\n\r\n".encode()


@pytest.mark.parametrize("reader", [whole, streamed])
async def test_a_slow_steady_body_is_read(
    serving: Callable[[Reader], Awaitable[int]], reader: Reader
) -> None:
    port = await serving(reader)
    # Five pauses of 2/3 PAUSE each: longer than PAUSE in all, never PAUSE without a byte.
    response = await send(port, post(50), [b"x" * 10] * 5, PAUSE * 2 / 3)
    assert response.endswith(b"\r\n\r\n50 bytes"), response


@pytest.mark.parametrize(
    ("reader", "expected"), [(whole, b"RequestTimeoutException"), (streamed, b"BodyStopped")]
)
async def test_a_stalled_body_times_out(
    serving: Callable[[Reader], Awaitable[int]], reader: Reader, expected: bytes
) -> None:
    port = await serving(reader)
    response = await send(port, post(50), [b"x" * 10], 0)
    assert response.startswith(b"HTTP/1.1 408 "), response
    assert response.endswith(expected)


async def test_a_body_past_the_limit_is_too_large(
    serving: Callable[[Reader], Awaitable[int]],
) -> None:
    port = await serving(whole)
    chunked = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    response = await send(port, chunked, [b"65\r\n" + b"x" * 101 + b"\r\n0\r\n\r\n"], 0)
    assert response.startswith(b"HTTP/1.1 413 "), response
    assert response.endswith(errors.REQUEST_TOO_LARGE.aws.encode())


async def test_a_body_cut_short_is_a_serialization_error(
    serving: Callable[[Reader], Awaitable[int]],
) -> None:
    port = await serving(whole)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(post(50) + b"x" * 10)
    writer.write_eof()  # done sending, 40 bytes short (aiohttp then closes)
    await reader.read()
    writer.close()
    assert noted == [errors.SERIALIZATION.aws]
