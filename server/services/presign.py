"""PresignService: CreatePresignedNotebookInstanceUrl."""

from __future__ import annotations

from collections.abc import Callable

from nbpresign.common import errors
from nbpresign.server.api.clock import Clock
from nbpresign.server.api.context import CallContext
from nbpresign.server.notebooks import tokens
from nbpresign.server.notebooks.instance import IN_SERVICE
from nbpresign.server.notebooks.signing_keys import KeyRing
from nbpresign.server.notebooks.site import Site
from nbpresign.server.storage import Storage
from nbpresign.v1 import presign_pb2 as pb

DEFAULT_SESSION_SECONDS = 43200  # 12 hours, as in SageMaker


class PresignService:
    def __init__(
        self, storage: Storage, site: Site, keys: Callable[[], KeyRing], clock: Clock
    ) -> None:
        self._storage = storage
        self._site = site
        self._keys = keys
        self._clock = clock

    async def CreatePresignedNotebookInstanceUrl(
        self, request: pb.CreatePresignedNotebookInstanceUrlRequest, ctx: CallContext
    ) -> pb.CreatePresignedNotebookInstanceUrlResponse:
        instance = await self._storage.get_instance(request.notebook_instance_name.lower())
        if instance is None:
            raise errors.RECORD_NOT_FOUND("RecordNotFound")
        if instance.status != IN_SERVICE:
            raise errors.WRONG_STATUS(
                f"Notebook Instance {self._site.arn(instance.name)} is in status "
                f"{instance.status}; a presigned URL needs status {IN_SERVICE}."
            )
        session_seconds = (
            request.session_expiration_duration_in_seconds
            if request.HasField("session_expiration_duration_in_seconds")
            else DEFAULT_SESSION_SECONDS
        )
        assert ctx.principal is not None  # the authorization interceptor ran first
        grant = tokens.new_grant(
            instance_arn=self._site.arn(instance.name),
            instance_key=instance.key,
            incarnation=instance.incarnation,
            principal=ctx.principal,
            session_seconds=session_seconds,
            now=self._clock(),
        )
        token = tokens.encode(grant, self._keys())
        return pb.CreatePresignedNotebookInstanceUrlResponse(
            authorized_url=self._site.urls.authorized_url(instance.name, token)
        )
