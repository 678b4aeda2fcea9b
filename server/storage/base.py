"""The storage interface every backend implements."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal, Protocol

from nbpresign.server.instances import NotebookInstance

SortColumn = Literal["name", "creation_time", "status"]


class DuplicateInstance(Exception):
    """An instance with that name (ignoring case) already exists."""


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

    async def close(self) -> None: ...
