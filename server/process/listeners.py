"""The two listeners: the HTTP port (aiohttp's low-level server, one Front) and gRPC."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from nbpresign.server.api.methods import METHODS
from nbpresign.server.auth.grpc_auth import GrpcCallAuthenticator
from nbpresign.server.process.assembly import Parts
from nbpresign.server.process.front import Handler
from nbpresign.server.rpc import server as grpc_server

# The longest request line the REST routes' OpenAPI document allows: every query parameter
# at its maxLength (NextToken: 8192 characters), percent-encoded (up to 12 bytes each).
# aiohttp's default (8190) refused a valid ListNotebookInstances query, as plain text.
MAX_REQUEST_LINE_BYTES = 128 * 1024


class _ClientErrorsWithoutTraceback(logging.Filter):
    """aiohttp logs a request it cannot parse (a client's fault) with a traceback: one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], HttpProcessingError):
            record.msg = f"{record.msg}: %s"
            record.args = (*(record.args or ()), record.exc_info[1])
            record.exc_info, record.levelno, record.levelname = None, logging.INFO, "INFO"
        return True


logging.getLogger("aiohttp.server").addFilter(_ClientErrorsWithoutTraceback())


def bind_http_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """Binds before anything is built, so port 0 is resolved for the URL template."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:  # --workers: every worker binds the same port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


@contextlib.asynccontextmanager
async def running_http(
    handler: Handler, sock: socket.socket, *, max_body_bytes: int
) -> AsyncIterator[None]:
    def make_request(
        message: Any, payload: Any, protocol: Any, writer: Any, task: Any
    ) -> web.BaseRequest:
        # Every body read whole (API calls, console forms) is small; notebook uploads
        # stream through the proxy and are never read whole.
        loop = asyncio.get_running_loop()
        return web.BaseRequest(
            message, payload, protocol, writer, task, loop, client_max_size=max_body_bytes
        )

    # No access log: a presigned URL's token must never reach a log file.
    server = web.Server(
        handler,
        request_factory=make_request,
        access_log=None,
        max_line_size=MAX_REQUEST_LINE_BYTES,
    )
    runner = web.ServerRunner(server)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def running_grpc(
    parts: Parts, host: str, port: int, account_id: str, *, reuse_port: bool = False
) -> AsyncIterator[int]:
    authenticate = GrpcCallAuthenticator(
        parts.authenticator, parts.authorizer, account_id=account_id
    )
    server, health = grpc_server.build_server(
        parts.core, METHODS, authenticate=authenticate, reuse_port=reuse_port
    )
    bound = server.add_insecure_port(f"{bracket(host)}:{port}")
    await server.start()
    try:
        await grpc_server.mark_serving(health, {m.service for m in METHODS})
        yield bound
    finally:
        await server.stop(grace=5)


def loopback_if_any(host: str) -> str:
    """Where a local client should connect when the service listens on every address."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104 - compared, not bound


def bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host
