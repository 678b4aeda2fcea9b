"""The two listeners: the HTTP port (aiohttp's low-level server, one Front) and gRPC.

Each is a context manager yielding a listener whose `drain(deadline)` stops it gracefully
(service.py runs both at once on SIGTERM); leaving the context stops whatever is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import grpc
from grpc_health.v1._async import HealthServicer  # public as health.aio; the stubs miss it

from nbpresign.server.api.methods import METHODS
from nbpresign.server.auth.grpc_auth import GrpcCallAuthenticator
from nbpresign.server.process.assembly import Parts
from nbpresign.server.process.connections import HttpServer
from nbpresign.server.process.front import Handler
from nbpresign.server.process.limits import Limits
from nbpresign.server.process.refusal import Refusal
from nbpresign.server.rpc import server as grpc_server

log = logging.getLogger(__name__)

BACKLOG = 128
MAX_LINGERING_REFUSALS = 32  # past this, a refused connection closes at once
REFUSAL_LOG_INTERVAL = 60.0
# Once draining, a kept-alive connection has this long to send its next request (answered
# with Connection: close) before it is closed as idle: a client that just got an answer is
# usually about to send one, and closing under it would lose that request.
IDLE_CLOSE_DELAY = 0.5
ACCEPT_FAILED = "socket.accept() out of system resource"


def bind_http_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """Binds before anything is built, so port 0 is resolved for the URL template."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:  # --workers: every worker binds the same port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


class HttpListener:
    """Accepts up to `max_connections` connections at once, and refuses the rest with a 503."""

    def __init__(self, server: HttpServer, sock: socket.socket, max_connections: int) -> None:
        self._server = server
        self._sock = sock
        self._max_connections = max_connections
        self._listening: asyncio.Server | None = None
        self._lingering = 0
        self._refused = 0
        self._next_refusal_log = 0.0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._listening = await loop.create_server(self._protocol, sock=self._sock, backlog=BACKLOG)

    def _protocol(self) -> asyncio.BaseProtocol:
        if self._server.open < self._max_connections:
            return self._server()
        self._note_refusal()
        linger = self._lingering < MAX_LINGERING_REFUSALS
        self._lingering += linger
        return Refusal(self._refusal_closed if linger else lambda: None, linger=linger)

    def _refusal_closed(self) -> None:
        self._lingering -= 1

    def _note_refusal(self) -> None:
        """A line when refusals start, then at most one a minute, with the count."""
        self._refused += 1
        now = asyncio.get_running_loop().time()
        if now >= self._next_refusal_log:
            log.warning(
                "at the limit of %d HTTP connections: refused %d with 503",
                self._max_connections,
                self._refused,
            )
            self._refused = 0
            self._next_refusal_log = now + REFUSAL_LOG_INTERVAL

    async def drain(self, deadline: float) -> None:
        """Stops accepting, lets requests in flight finish until `deadline`, then cancels them."""
        loop = asyncio.get_running_loop()
        queued = self._stop_listening()
        self._server.drain()
        for conn in queued:
            await loop.connect_accepted_socket(self._protocol, conn)
        await asyncio.sleep(max(0.0, min(IDLE_CLOSE_DELAY, deadline - loop.time())))
        self._server.close_idle()
        busy = await self._server.finished(deadline)
        if busy:
            log.warning("%d HTTP connections still busy after the grace period: closing them", busy)
        await self._server.shutdown(0.1)

    def _stop_listening(self) -> list[socket.socket]:
        """Closes the listening socket, first accepting what the kernel has queued on it:
        closing would reset those connections, which their clients count as accepted."""
        queued = []
        with contextlib.suppress(OSError):  # BlockingIOError: the queue is empty
            while True:
                conn, _ = self._sock.accept()
                conn.setblocking(False)
                queued.append(conn)
        if self._listening is not None:
            self._listening.close()
        return queued

    async def close(self) -> None:
        self._stop_listening()
        await self._server.shutdown(0.1)


@contextlib.asynccontextmanager
async def running_http(
    handler: Handler,
    sock: socket.socket,
    *,
    limits: Limits,
    max_connections: int,
    max_body_bytes: int,
) -> AsyncIterator[HttpListener]:
    quiet_accept_failures(asyncio.get_running_loop())
    server = HttpServer(handler, limits=limits, max_body_bytes=max_body_bytes)
    listener = HttpListener(server, sock, max_connections)
    await listener.start()
    try:
        yield listener
    finally:
        await listener.close()


def quiet_accept_failures(loop: asyncio.AbstractEventLoop) -> None:
    """asyncio logs a traceback each time accept() fails for lack of descriptors, and on
    Linux retries many times a second: one warning a minute says as much."""
    previous = loop.get_exception_handler()
    next_warning = 0.0

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        nonlocal next_warning
        if context.get("message") != ACCEPT_FAILED:
            if previous is None:
                loop.default_exception_handler(context)
            else:
                previous(loop, context)
            return
        if loop.time() >= next_warning:
            log.warning("cannot accept connections: %s", context.get("exception"))
            next_warning = loop.time() + REFUSAL_LOG_INTERVAL

    loop.set_exception_handler(handle)


class GrpcListener:
    def __init__(self, server: grpc.aio.Server, health: HealthServicer, port: int) -> None:
        self._server = server
        self._health = health
        self.port = port

    async def drain(self, deadline: float) -> None:
        """Health turns NOT_SERVING, new calls are refused, calls in flight go on until
        `deadline` and are cancelled then."""
        await self._health.enter_graceful_shutdown()
        await self._server.stop(max(0.0, deadline - asyncio.get_running_loop().time()))


@contextlib.asynccontextmanager
async def running_grpc(
    parts: Parts,
    host: str,
    port: int,
    account_id: str,
    *,
    limits: Limits,
    max_connections: int,
    reuse_port: bool = False,
) -> AsyncIterator[GrpcListener]:
    authenticate = GrpcCallAuthenticator(
        parts.authenticator, parts.authorizer, account_id=account_id
    )
    server, health = grpc_server.build_server(
        parts.core,
        METHODS,
        authenticate=authenticate,
        reuse_port=reuse_port,
        max_connections=max_connections,
        idle_timeout=limits.idle_timeout,
        handshake_timeout=limits.header_timeout,
    )
    bound = server.add_insecure_port(f"{bracket(host)}:{port}")
    await server.start()
    try:
        await grpc_server.mark_serving(health, {m.service for m in METHODS})
        yield GrpcListener(server, health, bound)
    finally:
        await server.stop(grace=0)


def loopback_if_any(host: str) -> str:
    """Where a local client should connect when the service listens on every address."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104 - compared, not bound


def bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host
