"""NotebookInstanceService: the registry of notebook instances."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from google.protobuf.timestamp_pb2 import Timestamp

from nbpresign.common import errors
from nbpresign.common.errors import ServiceError
from nbpresign.server.api.clock import Clock
from nbpresign.server.api.context import CallContext
from nbpresign.server.api.pagination import PageTokens, query_binding, tags_binding
from nbpresign.server.api.timestamps import timestamp
from nbpresign.server.notebooks.instance import FAILED, IN_SERVICE, STOPPED, NotebookInstance
from nbpresign.server.notebooks.site import Site
from nbpresign.server.storage import Cursor, DuplicateInstance, InstanceQuery, SortColumn, Storage
from nbpresign.v1 import notebook_instances_pb2 as pb
from nbpresign.v1 import tags_pb2

DEFAULT_PAGE_SIZE = 100
DEFAULT_TAGS_PAGE_SIZE = 50  # ListTags' MaxResults is at least 50

# ListNotebookInstances SortBy -> storage sort column.
SORT_COLUMNS: dict[str, SortColumn] = {
    "Name": "name",
    "CreationTime": "creation_time",
    "Status": "status",
}


@dataclass(frozen=True)
class Transition:
    """A status change, as SageMaker words a refusal of it:
    Status (InService) not in ([Stopped, Failed]). Unable to transition to (Deleting) ..."""

    allowed_from: tuple[str, ...]
    passing_through: str  # SageMaker's intermediate status, named in the refusal


START = Transition((STOPPED, FAILED), "Pending")
STOP = Transition((IN_SERVICE,), "Stopping")
DELETE = Transition((STOPPED, FAILED), "Deleting")


Revoke = Callable[[str], Awaitable[None]]


async def default_on_revoke(key: str) -> None:
    """Nothing to close: no proxy runs beside this registry."""


# An instance's tags changed: policies that read them may now decide otherwise.
TagsChanged = Callable[[str], Awaitable[None]]


async def default_on_tags_change(key: str) -> None:
    """Nothing to re-check: no proxy runs beside this registry."""


def _tags(tags: Iterable[tags_pb2.Tag]) -> list[tuple[str, str]]:
    return [(t.key, t.value) for t in tags]


class NotebookInstanceService:
    def __init__(
        self,
        storage: Storage,
        site: Site,
        clock: Clock,
        page_tokens: PageTokens,
        *,
        on_revoke: Revoke = default_on_revoke,
        on_tags_change: TagsChanged = default_on_tags_change,
    ) -> None:
        self._storage = storage
        self._site = site
        self._clock = clock
        self._page_tokens = page_tokens
        self._on_revoke = on_revoke
        self._on_tags_change = on_tags_change

    async def RegisterNotebookInstance(
        self, request: pb.RegisterNotebookInstanceRequest, ctx: CallContext
    ) -> pb.RegisterNotebookInstanceResponse:
        now = self._clock()
        instance = NotebookInstance(
            name=request.notebook_instance_name,
            jupyter_url=request.jupyter_server_url,
            jupyter_token=request.jupyter_token,
            status=IN_SERVICE,
            creation_time=now,
            last_modified_time=now,
        )
        arn = self._site.arn(instance.name)
        try:
            await self._storage.add_instance(instance, _tags(request.tags))
        except DuplicateInstance:
            raise errors.DUPLICATE_INSTANCE(
                f"Cannot create a duplicate Notebook Instance ({arn})"
            ) from None
        return pb.RegisterNotebookInstanceResponse(notebook_instance_arn=arn)

    async def DescribeNotebookInstance(
        self, request: pb.DescribeNotebookInstanceRequest, ctx: CallContext
    ) -> pb.DescribeNotebookInstanceResponse:
        instance = await self._get(request.notebook_instance_name)
        return pb.DescribeNotebookInstanceResponse(
            notebook_instance_arn=self._site.arn(instance.name),
            notebook_instance_name=instance.name,
            notebook_instance_status=instance.status,
            url=self._site.urls.display_url(instance.name),
            creation_time=timestamp(instance.creation_time),
            last_modified_time=timestamp(instance.last_modified_time),
            jupyter_server_url=instance.jupyter_url,
        )

    async def ListNotebookInstances(
        self, request: pb.ListNotebookInstancesRequest, ctx: CallContext
    ) -> pb.ListNotebookInstancesResponse:
        sort_by = SORT_COLUMNS[request.sort_by or "Name"]
        limit = request.max_results if request.HasField("max_results") else DEFAULT_PAGE_SIZE
        query = InstanceQuery(
            limit=limit + 1,  # one more than asked tells whether another page exists
            sort_by=sort_by,
            descending=request.sort_order == "Descending",
            name_contains=request.name_contains or None,
            status_equals=request.status_equals or None,
            created_before=_seconds(request, "creation_time_before"),
            created_after=_seconds(request, "creation_time_after"),
            modified_before=_seconds(request, "last_modified_time_before"),
            modified_after=_seconds(request, "last_modified_time_after"),
        )
        if request.next_token:
            after = self._page_tokens.decode(request.next_token, query_binding(query))
            query = dataclasses.replace(query, after=after)
        found = await self._storage.list_instances(query)
        page = found[:limit]
        response = pb.ListNotebookInstancesResponse(
            notebook_instances=[self._summary(i) for i in page]
        )
        if len(found) > limit:
            cursor = _cursor(page[-1], sort_by)
            response.next_token = self._page_tokens.encode(cursor, query_binding(query))
        return response

    async def StartNotebookInstance(
        self, request: pb.StartNotebookInstanceRequest, ctx: CallContext
    ) -> pb.StartNotebookInstanceResponse:
        await self._transition(request.notebook_instance_name, START, IN_SERVICE)
        return pb.StartNotebookInstanceResponse()

    async def StopNotebookInstance(
        self, request: pb.StopNotebookInstanceRequest, ctx: CallContext
    ) -> pb.StopNotebookInstanceResponse:
        key = await self._transition(request.notebook_instance_name, STOP, STOPPED)
        await self._on_revoke(key)  # open sessions and WebSockets end at once
        return pb.StopNotebookInstanceResponse()

    async def DeleteNotebookInstance(
        self, request: pb.DeleteNotebookInstanceRequest, ctx: CallContext
    ) -> pb.DeleteNotebookInstanceResponse:
        instance = await self._get(request.notebook_instance_name)
        if not await self._storage.delete_instance(instance.key, allowed_from=DELETE.allowed_from):
            raise await self._wrong_status(instance.key, DELETE)
        await self._on_revoke(instance.key)
        return pb.DeleteNotebookInstanceResponse()

    async def AddTags(self, request: pb.AddTagsRequest, ctx: CallContext) -> pb.AddTagsResponse:
        instance = await self._get(self._site.instance_key(request.resource_arn))
        await self._storage.tag_instance(instance.key, _tags(request.tags))
        await self._on_tags_change(instance.key)
        return pb.AddTagsResponse(tags=request.tags)

    async def ListTags(self, request: pb.ListTagsRequest, ctx: CallContext) -> pb.ListTagsResponse:
        instance = await self._get(self._site.instance_key(request.resource_arn))
        limit = request.max_results if request.HasField("max_results") else DEFAULT_TAGS_PAGE_SIZE
        binding = tags_binding(instance.key)
        token = request.next_token
        after = self._page_tokens.decode(token, binding).key if token else None
        found = await self._storage.instance_tags(instance.key, after=after, limit=limit + 1)
        page = found[:limit]
        response = pb.ListTagsResponse(tags=[tags_pb2.Tag(key=k, value=v) for k, v in page])
        if len(found) > limit:
            last = page[-1][0]
            response.next_token = self._page_tokens.encode(Cursor(last, last), binding)
        return response

    async def DeleteTags(
        self, request: pb.DeleteTagsRequest, ctx: CallContext
    ) -> pb.DeleteTagsResponse:
        instance = await self._get(self._site.instance_key(request.resource_arn))
        await self._storage.untag_instance(instance.key, list(request.tag_keys))
        await self._on_tags_change(instance.key)
        return pb.DeleteTagsResponse()

    async def _get(self, name: str) -> NotebookInstance:
        instance = await self._storage.get_instance(name.lower())
        if instance is None:
            raise errors.RECORD_NOT_FOUND("RecordNotFound")
        return instance

    async def _transition(self, name: str, transition: Transition, to: str) -> str:
        instance = await self._get(name)
        changed = await self._storage.change_status(
            instance.key, allowed_from=transition.allowed_from, to=to, now=self._clock()
        )
        if not changed:
            raise await self._wrong_status(instance.key, transition)
        return instance.key

    async def _wrong_status(self, key: str, transition: Transition) -> ServiceError:
        # Re-read: the status may have changed since the caller's first look.
        current = await self._get(key)
        return errors.WRONG_STATUS(
            f"Status ({current.status}) not in ([{', '.join(transition.allowed_from)}]). "
            f"Unable to transition to ({transition.passing_through}) "
            f"for Notebook Instance ({self._site.arn(current.name)})"
        )

    def _summary(self, instance: NotebookInstance) -> pb.NotebookInstanceSummary:
        return pb.NotebookInstanceSummary(
            notebook_instance_name=instance.name,
            notebook_instance_arn=self._site.arn(instance.name),
            notebook_instance_status=instance.status,
            url=self._site.urls.display_url(instance.name),
            creation_time=timestamp(instance.creation_time),
            last_modified_time=timestamp(instance.last_modified_time),
        )


def _seconds(request: pb.ListNotebookInstancesRequest, field: str) -> float | None:
    if not request.HasField(field):  # type: ignore[arg-type]
        return None
    stamp: Timestamp = getattr(request, field)
    return stamp.ToNanoseconds() / 1e9


def _cursor(instance: NotebookInstance, sort_by: SortColumn) -> Cursor:
    values: dict[SortColumn, str | float] = {
        "name": instance.key,
        "creation_time": instance.creation_time,
        "status": instance.status,
    }
    return Cursor(sort_value=values[sort_by], key=instance.key)
