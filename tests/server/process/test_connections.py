"""The HTTP listener in this process, on real sockets: draining answers what the kernel has
queued, says Connection: close, closes idle connections but not half-sent ones; what
asyncio logs when accept() fails is one line, not a flood."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from nbpresign.server.process.limits import Limits
from nbpresign.server.process.listeners import (
    ACCEPT_FAILED,
    HttpListener,
    bind_http_socket,
    quiet_accept_failures,
    running_http,
)


async def answer(request: web.BaseRequest) -> web.StreamResponse:
    if request.path == "/slow":
        await asyncio.sleep(0.5)
    return web.Response(text="ok")


@pytest.fixture
async def listener() -> AsyncIterator[tuple[HttpListener, int]]:
    sock = bind_http_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    async with running_http(
        answer, sock, limits=Limits(), max_connections=100, max_body_bytes=1024
    ) as running:
        yield running, port


def read_all(sock: socket.socket) -> bytes:
    """Until the server closes; raises ConnectionResetError on a reset."""
    sock.settimeout(10)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def deadline(seconds: float) -> float:
    return asyncio.get_running_loop().time() + seconds


async def test_connections_queued_in_the_kernel_are_answered_not_reset(
    listener: tuple[HttpListener, int],
) -> None:
    running, port = listener
    # Connected while this loop does not run: accepted by the kernel, not yet by asyncio.
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
    for client in clients:
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        drained = asyncio.ensure_future(running.drain(deadline(5)))
        answers = await asyncio.gather(*(asyncio.to_thread(read_all, c) for c in clients))
        await drained
    finally:
        for client in clients:
            client.close()
    for received in answers:
        assert received.startswith(b"HTTP/1.1 200 OK"), received
        assert b"Connection: close" in received
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port))  # and then nothing more


async def test_a_request_in_flight_finishes_and_closes_its_connection(
    listener: tuple[HttpListener, int],
) -> None:
    running, port = listener
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")  # keep-alive, as HTTP/1.1 is
    await writer.drain()
    await asyncio.sleep(0.1)
    await running.drain(deadline(5))
    received = await reader.read()
    writer.close()
    assert received.startswith(b"HTTP/1.1 200 OK"), received
    assert b"Connection: close" in received


async def test_idle_connections_close_but_half_sent_requests_are_answered(
    listener: tuple[HttpListener, int],
) -> None:
    running, port = listener
    idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", port)
    idle_writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await idle_reader.readuntil(b"ok")  # answered, kept alive, now idle
    half_reader, half_writer = await asyncio.open_connection("127.0.0.1", port)
    half_writer.write(b"GET / HTTP/1.1\r\nHo")
    await half_writer.drain()
    await asyncio.sleep(0.1)
    drained = asyncio.ensure_future(running.drain(deadline(5)))
    assert await idle_reader.read() == b""  # closed, with nothing more said
    half_writer.write(b"st: x\r\n\r\n")
    received = await half_reader.read()
    await drained
    idle_writer.close()
    half_writer.close()
    assert received.startswith(b"HTTP/1.1 200 OK"), received
    assert b"Connection: close" in received


async def test_accept_failures_are_one_line_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    others: list[str] = []
    loop.set_exception_handler(lambda loop, context: others.append(context["message"]))
    try:
        quiet_accept_failures(loop)
        failure = {"message": ACCEPT_FAILED, "exception": OSError(errno.EMFILE, "Too many")}
        with caplog.at_level(logging.WARNING):
            for _ in range(1000):
                loop.call_exception_handler(failure)
            loop.call_exception_handler({"message": "something else"})
    finally:
        loop.set_exception_handler(previous)
    assert len([r for r in caplog.records if "cannot accept" in r.getMessage()]) == 1
    assert others == ["something else"]  # anything else goes where it went before
