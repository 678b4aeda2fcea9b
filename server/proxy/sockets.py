"""The WebSockets open through the proxy, by instance, so that ending access closes them.

Each relay registers an Event; revoking an instance sets its relays' events, and each
relay then closes its own sockets (closing from here, while the relay is reading,
would cut the connection before the close frame is read).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterator

# Sent to the browser when access ends under an open socket (RFC 6455: policy violation).
CLOSE_REVOKED = 1008


class OpenSockets:
    def __init__(self) -> None:
        self._by_instance: defaultdict[str, set[asyncio.Event]] = defaultdict(set)

    @contextlib.contextmanager
    def registered(self, key: str) -> Iterator[asyncio.Event]:
        """An Event that is set when access to instance `key` ends."""
        revoked = asyncio.Event()
        self._by_instance[key].add(revoked)
        try:
            yield revoked
        finally:
            sockets = self._by_instance.get(key)
            if sockets is not None:
                sockets.discard(revoked)
                if not sockets:
                    del self._by_instance[key]

    def count(self, key: str) -> int:
        return len(self._by_instance.get(key, ()))

    def revoke(self, key: str) -> None:
        for revoked in self._by_instance.get(key, ()):
            revoked.set()

    def revoke_all(self) -> None:
        for key in list(self._by_instance):
            self.revoke(key)
