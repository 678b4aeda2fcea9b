"""The storage interface every backend implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Literal, Protocol

from nbpresign.server.iam.identities import AccessKey, User
from nbpresign.server.notebooks.instance import NotebookInstance

SortColumn = Literal["name", "creation_time", "status"]
# Events between replicas: "instance:<key>" (access to it ended), "user:<name>" (changed).
EventHandler = Callable[[str], Awaitable[None]]


class DuplicateInstance(Exception):
    """An instance with that name (ignoring case) already exists."""


class DuplicateUser(Exception):
    """A user with that name already exists."""


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the sort value and the key of its last instance."""

    sort_value: str | float
    key: str


@dataclass(frozen=True)
class InstanceQuery:
    limit: int
    sort_by: SortColumn = "name"
    descending: bool = False
    after: Cursor | None = None
    name_contains: str | None = None  # matched ignoring case
    status_equals: str | None = None
    created_before: float | None = None
    created_after: float | None = None
    modified_before: float | None = None
    modified_after: float | None = None


class Storage(Protocol):
    async def add_instance(self, instance: NotebookInstance) -> None:
        """Raises DuplicateInstance when the name is taken, ignoring case."""

    async def get_instance(self, key: str) -> NotebookInstance | None: ...

    async def list_instances(self, query: InstanceQuery) -> list[NotebookInstance]:
        """At most query.limit instances, in the query's order, after query.after."""

    async def change_status(
        self, key: str, *, allowed_from: Collection[str], to: str, now: float
    ) -> bool:
        """Sets the status if the current one is in allowed_from; False if it was not."""

    async def delete_instance(self, key: str, *, allowed_from: Collection[str]) -> bool:
        """Deletes the instance if its status is in allowed_from; False if it was not."""

    async def replace_upstream(
        self, key: str, *, jupyter_url: str, jupyter_token: str, now: float
    ) -> bool:
        """Points an instance at another Jupyter server; False if there is no such instance."""

    async def redeem_once(self, token_id: str, *, expires_at: float, now: float) -> bool:
        """Records a URL token as used: True the first time, False ever after.

        Records whose token has expired are purged on the way: an expired token is
        refused on its expiry alone, so its record is no longer needed.
        """

    async def add_user(self, user: User) -> None:
        """Raises DuplicateUser when the name is taken."""

    async def get_user(self, name: str) -> User | None: ...

    async def list_users(self) -> list[User]: ...

    async def delete_user(self, name: str) -> bool:
        """Deletes the user with their keys and policies; False if there was none."""

    async def add_access_key(self, key: AccessKey) -> None: ...

    async def get_access_key(self, key_id: str) -> AccessKey | None: ...

    async def list_access_keys(self, user_name: str) -> list[AccessKey]: ...

    async def delete_access_key(self, user_name: str, key_id: str) -> bool: ...

    async def put_user_policy(self, user_name: str, policy_name: str, document: str) -> None:
        """Attaches the document under that name, replacing any before it."""

    async def list_user_policies(self, user_name: str) -> list[tuple[str, str]]:
        """(policy name, document) pairs, by name."""

    async def delete_user_policy(self, user_name: str, policy_name: str) -> bool: ...

    async def signing_keys(self) -> list[tuple[str, bytes, float]]:
        """(kid, sealed key, creation time) of every URL-signing key, oldest first."""

    async def add_signing_key(self, kid: str, sealed_key: bytes, creation_time: float) -> None: ...

    async def shared_secret(self, name: str, candidate: bytes) -> bytes:
        """The secret stored under `name`, storing `candidate` first if there is none.

        Atomic: replicas racing to set it all get the one that won."""

    async def publish(self, event: str) -> None:
        """Tells every replica's subscribers (this one's included) that `event` happened."""

    def subscribe(self, handler: EventHandler) -> None: ...

    async def close(self) -> None: ...
