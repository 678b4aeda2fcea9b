"""The HTTP port's connections: aiohttp's low-level server with what it lacks.

- a request's line and headers must arrive within `header_timeout` of its first byte (of
  the connection's start, for its first request), else 408 and the connection closes;
  between requests a connection may stay idle for `idle_timeout` (aiohttp's keep-alive);
- a request aiohttp cannot parse gets a plain 400, and no traceback in the log (any
  client can send one);
- every request carries the longest pause allowed in its body (bodies.BODY_TIMEOUT);
- once the server drains, every response says `Connection: close` and closes its
  connection, and idle connections close.
"""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler

from nbpresign.server.http.bodies import BODY_TIMEOUT
from nbpresign.server.process.limits import Limits

log = logging.getLogger(__name__)

# The longest request line the REST routes' OpenAPI document allows: every query parameter
# at its maxLength (NextToken: 8192 characters), percent-encoded (up to 12 bytes each).
# aiohttp's default (8190) refused a valid ListNotebookInstances query, as plain text.
MAX_REQUEST_LINE_BYTES = 128 * 1024
LINGERING_SECONDS = 10.0  # aiohttp's default
REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 20\r\n"
    b"Connection: close\r\n"
    b"\r\n"
    b"408 Request Timeout\n"
)


class Connection(RequestHandler):
    def __init__(self, manager: HttpServer, *, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._header_timeout = header_timeout
        self._header_timer: asyncio.TimerHandle | None = None
        self._partial = False  # some bytes of the next request's head have arrived
        self.draining = manager.draining
        self.finished = asyncio.Event()  # its requests are done and its socket closed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self._task_handler is not None
        self._task_handler.add_done_callback(lambda _: self.finished.set())
        self._start_header_timer()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._messages or self._upgraded:
            self._partial = False
            self._stop_header_timer()
        elif data and self._waiter is not None:  # bytes of a request's head, not of a body
            self._partial = True
            if self._header_timer is None:
                self._start_header_timer()

    def _start_header_timer(self) -> None:
        self._header_timer = self._loop.call_later(self._header_timeout, self._header_timed_out)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self._waiting() and self.transport is not None:
            self.transport.write(REQUEST_TIMEOUT)
            self.force_close()

    def _waiting(self) -> bool:
        """Waiting for a request (as opposed to handling one)."""
        return self._waiter is not None and not self._waiter.done() and not self._messages

    def drain(self) -> None:
        self.draining = True

    def close_if_idle(self) -> None:
        if self.draining and self._waiting() and not self._partial:
            self.force_close()

    async def finish_response(
        self, request: web.BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        finished = await super().finish_response(request, resp, start_time)
        if self.draining:
            self.close()  # no next request on this connection
        return finished

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        # What the client sent is not HTTP aiohttp can parse. The request line may hold
        # a token: it stays out of the log, as does a traceback nothing can act on.
        log.debug("a request from %s could not be parsed", request.remote)
        if request.writer.output_size > 0:
            raise ConnectionError("a response was already sent")
        phrase = f"{status} {HTTPStatus(status).phrase}\n"
        response = web.Response(status=status, text=phrase)
        response.force_close()
        return response


class Request(web.BaseRequest):
    @property
    def keep_alive(self) -> bool:
        """Whether the response keeps the connection open: not once the server drains."""
        connection = self.protocol
        draining = isinstance(connection, Connection) and connection.draining
        return bool(super().keep_alive) and not draining


class HttpServer(web.Server):
    """Makes a Connection for each accepted socket, and counts the open ones."""

    def __init__(self, handler: Any, *, limits: Limits, max_body_bytes: int) -> None:
        # No access log: a presigned URL's token must never reach a log file.
        super().__init__(
            handler,
            request_factory=self._request,
            access_log=None,
            keepalive_timeout=limits.idle_timeout,
        )
        self._limits = limits
        self._max_body_bytes = max_body_bytes
        self.open = 0  # connections made and not yet lost
        self.draining = False

    def __call__(self) -> Connection:
        # Counted from here, not from connection_made: a burst of accepts makes all of its
        # protocols before any of their connections is made.
        self.open += 1
        return Connection(
            self,
            loop=asyncio.get_running_loop(),
            header_timeout=self._limits.header_timeout,
            access_log=None,
            keepalive_timeout=self._limits.idle_timeout,
            max_line_size=MAX_REQUEST_LINE_BYTES,
            # After an answer given before the body was read, the rest is read and dropped
            # (closing with it unread would reset the connection) while it keeps coming.
            lingering_time=min(LINGERING_SECONDS, self._limits.body_timeout),
        )

    def _request(
        self, message: Any, payload: Any, protocol: Any, writer: Any, task: Any
    ) -> web.BaseRequest:
        # Every body read whole (API calls, console forms) is small; notebook uploads
        # stream through the proxy and are never read whole.
        request = Request(
            message,
            payload,
            protocol,
            writer,
            task,
            asyncio.get_running_loop(),
            client_max_size=self._max_body_bytes,
        )
        request[BODY_TIMEOUT] = self._limits.body_timeout
        return request

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None) -> None:
        super().connection_lost(handler, exc)
        self.open -= 1

    def drain(self) -> None:
        """From now on every response closes its connection."""
        self.draining = True
        for connection in self.connections:
            if isinstance(connection, Connection):
                connection.drain()

    def close_idle(self) -> None:
        for connection in self.connections:
            if isinstance(connection, Connection):
                connection.close_if_idle()

    async def finished(self, deadline: float) -> int:
        """Waits until `deadline` (loop time) for every connection to finish; returns how
        many did not."""
        waiting = [
            asyncio.ensure_future(c.finished.wait())
            for c in self.connections
            if isinstance(c, Connection)
        ]
        if not waiting:
            return 0
        timeout = max(0.0, deadline - asyncio.get_running_loop().time())
        _, pending = await asyncio.wait(waiting, timeout=timeout)
        for task in pending:
            task.cancel()
        return len(pending)
