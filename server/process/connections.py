"""The HTTP port's connections: aiohttp's low-level server with what it lacks.

- a request's line and headers must arrive within `header_timeout` of its first byte (of
  the connection's start, for its first request), else 408 and the connection closes;
  between requests a connection may stay idle for `idle_timeout` (aiohttp's keep-alive);
- a request aiohttp cannot parse gets a plain 400, and no traceback in the log (any
  client can send one);
- every request carries the longest pause allowed in its body (bodies.BODY_TIMEOUT).
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

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._start_header_timer()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._messages or self._upgraded:
            self._stop_header_timer()
        elif data and self._waiter is not None and self._header_timer is None:
            self._start_header_timer()  # the first bytes of a request's head, not of a body

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
        request = web.BaseRequest(
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
