"""How much of the proxy one notebook, and one browser session, may hold at once.

Plain requests and WebSockets are counted apart, so open WebSockets never take a plain
request's place. Each is bounded per notebook (no notebook takes the whole proxy) and per
session (no browser takes its whole notebook). A request that finds a bound full waits up
to `wait_seconds` for a place, then gets a 503 page with Retry-After (pages.busy), rather
than queueing for as long as the others take.

The defaults let a team of 50 with 10 JupyterLab tabs each (about 25 WebSockets and at
most 6 requests at a time per browser) share one notebook, with room to spare.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    requests_per_notebook: int = 512  # in flight, bodies streaming included
    requests_per_session: int = 32
    websockets_per_notebook: int = 2048  # open
    websockets_per_session: int = 128  # about 50 JupyterLab tabs
    wait_seconds: float = 2.0  # for a place, before the 503 page

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            least = 0 if name == "wait_seconds" else 1
            if value < least:
                raise ValueError(f"{name} must be at least {least}")


DEFAULT_LIMITS = Limits()


class Busy(Exception):
    """A bound is full, and stayed full for the whole wait."""


@dataclass
class _Gate:
    places: asyncio.Semaphore
    users: int = 0  # holding or waiting: the gate goes when the last one does
    holding: int = 0


class Places:
    """A bounded number of places for each key, with no memory kept for idle keys."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._gates: dict[str, _Gate] = {}

    @contextlib.asynccontextmanager
    async def held(self, key: str) -> AsyncIterator[None]:
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = _Gate(asyncio.Semaphore(self._size))
        gate.users += 1
        try:
            await gate.places.acquire()
            gate.holding += 1
            try:
                yield
            finally:
                gate.holding -= 1
                gate.places.release()
        finally:
            gate.users -= 1
            if not gate.users:
                del self._gates[key]

    def in_use(self, key: str) -> int:
        gate = self._gates.get(key)
        return 0 if gate is None else gate.holding


class Budget:
    """One kind of use (plain requests, or WebSockets), bounded per notebook and session."""

    def __init__(self, per_notebook: int, per_session: int, wait_seconds: float) -> None:
        self.notebooks = Places(per_notebook)
        self.sessions = Places(per_session)
        self._wait = wait_seconds

    @contextlib.asynccontextmanager
    async def place(self, notebook: str, session: str) -> AsyncIterator[None]:
        """Held for the whole request or WebSocket; raises Busy if none comes in time."""
        async with contextlib.AsyncExitStack() as stack:
            try:
                async with asyncio.timeout(self._wait):
                    # The session's own place first: a browser at its bound waits
                    # without holding one of its notebook's.
                    await stack.enter_async_context(self.sessions.held(session))
                    await stack.enter_async_context(self.notebooks.held(notebook))
            except TimeoutError:
                raise Busy() from None
            yield


def requests_budget(limits: Limits) -> Budget:
    return Budget(limits.requests_per_notebook, limits.requests_per_session, limits.wait_seconds)


def websockets_budget(limits: Limits) -> Budget:
    return Budget(
        limits.websockets_per_notebook, limits.websockets_per_session, limits.wait_seconds
    )
