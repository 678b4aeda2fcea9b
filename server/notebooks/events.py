"""Events between replicas, over the storage's publish/subscribe:

    instance:<key>   access to that instance ended (stopped, deleted)
    user:<name>      that user's keys or policies changed, or the user was deleted

Each replica's notebook proxy subscribes, and closes the WebSockets the event ends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nbpresign.server.storage import Storage

INSTANCE = "instance:"
USER = "user:"


def instance_ended(storage: Storage) -> Callable[[str], Awaitable[None]]:
    async def publish(key: str) -> None:
        await storage.publish(INSTANCE + key)

    return publish


def user_changed(storage: Storage) -> Callable[[str], Awaitable[None]]:
    async def publish(name: str) -> None:
        await storage.publish(USER + name)

    return publish
