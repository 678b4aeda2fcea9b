"""What a connection past the HTTP connection limit gets: a 503, then the connection closes.

The answer goes out at once, the write side is shut, and what the client sends is read and
dropped until it closes (or LINGER_SECONDS pass): closing with its request unread would
reset the connection, and the client might never read the 503.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

SERVICE_UNAVAILABLE = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 24\r\n"
    b"Retry-After: 1\r\n"
    b"Connection: close\r\n"
    b"\r\n"
    b"503 Service Unavailable\n"
)
LINGER_SECONDS = 2.0


class Refusal(asyncio.Protocol):
    def __init__(self, on_closed: Callable[[], None], *, linger: bool = True) -> None:
        self._on_closed = on_closed
        self._linger = linger
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(SERVICE_UNAVAILABLE)
        if not self._linger or not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        self._timer = asyncio.get_running_loop().call_later(LINGER_SECONDS, transport.close)

    def data_received(self, data: bytes) -> None:
        pass  # dropped: the answer does not depend on it

    def eof_received(self) -> bool:
        return False  # the client is done too: close

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._on_closed()
