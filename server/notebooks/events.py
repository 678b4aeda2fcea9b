"""Events between replicas, over the storage's publish/subscribe:

    instance:<key>   access to that instance ended (stopped, deleted)
    user:<name>      that user's keys, policies, tags or groups (a membership, a group's
                     policy) changed, or the user was deleted
    tags:<key>       that instance's tags changed: policies reading them may decide otherwise

Each replica's notebook proxy subscribes, and closes the WebSockets the event ends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nbpresign.server.storage import Storage

INSTANCE = "instance:"
USER = "user:"
TAGS = "tags:"


def instance_ended(storage: Storage) -> Callable[[str], Awaitable[None]]:
    async def publish(key: str) -> None:
        await storage.publish(INSTANCE + key)

    return publish


def user_changed(storage: Storage) -> Callable[[str], Awaitable[None]]:
    async def publish(name: str) -> None:
        await storage.publish(USER + name)

    return publish


def tags_changed(storage: Storage) -> Callable[[str], Awaitable[None]]:
    async def publish(key: str) -> None:
        await storage.publish(TAGS + key)

    return publish
