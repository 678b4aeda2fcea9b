"""The WebSockets open through the proxy, so that ending access closes them at once.

Each relay registers what its access rests on (the instance, and the caller's
CallContext) and an Event; ending access sets the Event, and the relay then
closes its own sockets (closing them from here, while the relay is reading, would cut
the connection before the close frame is read).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from nbpresign.server.api.context import CallContext

# Sent to the browser when access ends under an open socket (RFC 6455: policy violation).
CLOSE_REVOKED = 1008
# Sent both ways when the service shuts down (RFC 6455: going away); the browser reconnects.
CLOSE_GOING_AWAY = 1001


@dataclass(eq=False)
class Relay:
    instance_key: str
    ctx: CallContext  # who the socket is open for, from where: what admission re-checks
    incarnation: str  # the instance's life the session belongs to
    revoked: asyncio.Event = field(default_factory=asyncio.Event)
    going_away: bool = False  # revoked because the service shuts down


class OpenSockets:
    def __init__(self) -> None:
        self._relays: set[Relay] = set()
        self._going_away = False

    @contextlib.contextmanager
    def registered(self, relay: Relay) -> Iterator[asyncio.Event]:
        """The relay's Event, set when its access ends."""
        self._relays.add(relay)
        if self._going_away:
            self._send_away(relay)
        try:
            yield relay.revoked
        finally:
            self._relays.discard(relay)

    def all(self) -> list[Relay]:
        return list(self._relays)

    def of_instance(self, key: str) -> list[Relay]:
        return [r for r in self._relays if r.instance_key == key]

    def of_user(self, user_name: str) -> list[Relay]:
        return [
            r
            for r in self._relays
            if r.ctx.principal is not None and r.ctx.principal.user_name == user_name
        ]

    def revoke_instance(self, key: str) -> None:
        for relay in self.of_instance(key):
            relay.revoked.set()

    def go_away(self) -> None:
        """The service shuts down: every relay, and any opened from now on, closes with 1001."""
        self._going_away = True
        for relay in list(self._relays):
            self._send_away(relay)

    @staticmethod
    def _send_away(relay: Relay) -> None:
        relay.going_away = True
        relay.revoked.set()

    def revoke_all(self) -> None:
        for relay in list(self._relays):
            relay.revoked.set()
