"""The asyncio client."""

from __future__ import annotations

from types import TracebackType

import grpc

from nbpresign.client.credentials import SigningIdentity, resolve
from nbpresign.client.errors import rpc_errors
from nbpresign.client.requests import list_request, presign_request
from nbpresign.client.signing import AsyncSigningInterceptor
from nbpresign.v1 import notebook_instances_pb2 as nb
from nbpresign.v1 import notebook_instances_pb2_grpc as nb_grpc
from nbpresign.v1 import presign_pb2_grpc


class AsyncClient:
    def __init__(self, target: str, *, identity: SigningIdentity | None = None) -> None:
        """`identity`: the key that signs every call; by default the AWS credential chain."""
        signer = AsyncSigningInterceptor(identity or resolve())
        self._channel = grpc.aio.insecure_channel(target, interceptors=[signer])  # type: ignore[list-item]
        self._presign = presign_pb2_grpc.PresignServiceStub(self._channel)
        self._instances = nb_grpc.NotebookInstanceServiceStub(self._channel)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close(grace=None)

    async def create_presigned_notebook_instance_url(
        self, name: str, session_expiration_duration_in_seconds: int | None = None
    ) -> str:
        request = presign_request(name, session_expiration_duration_in_seconds)
        with rpc_errors():
            response = await self._presign.CreatePresignedNotebookInstanceUrl(request)
        return response.authorized_url

    async def register_notebook_instance(
        self, name: str, jupyter_server_url: str, jupyter_token: str = ""
    ) -> str:
        request = nb.RegisterNotebookInstanceRequest(
            notebook_instance_name=name,
            jupyter_server_url=jupyter_server_url,
            jupyter_token=jupyter_token,
        )
        with rpc_errors():
            registered = await self._instances.RegisterNotebookInstance(request)
        return registered.notebook_instance_arn

    async def describe_notebook_instance(self, name: str) -> nb.DescribeNotebookInstanceResponse:
        request = nb.DescribeNotebookInstanceRequest(notebook_instance_name=name)
        with rpc_errors():
            return await self._instances.DescribeNotebookInstance(request)

    async def list_notebook_instances(
        self,
        *,
        max_results: int | None = None,
        next_token: str = "",
        sort_by: str = "",
        sort_order: str = "",
        name_contains: str = "",
        status_equals: str = "",
    ) -> nb.ListNotebookInstancesResponse:
        request = list_request(
            max_results=max_results,
            next_token=next_token,
            sort_by=sort_by,
            sort_order=sort_order,
            name_contains=name_contains,
            status_equals=status_equals,
        )
        with rpc_errors():
            return await self._instances.ListNotebookInstances(request)

    async def start_notebook_instance(self, name: str) -> None:
        with rpc_errors():
            await self._instances.StartNotebookInstance(
                nb.StartNotebookInstanceRequest(notebook_instance_name=name)
            )

    async def stop_notebook_instance(self, name: str) -> None:
        with rpc_errors():
            await self._instances.StopNotebookInstance(
                nb.StopNotebookInstanceRequest(notebook_instance_name=name)
            )

    async def delete_notebook_instance(self, name: str) -> None:
        with rpc_errors():
            await self._instances.DeleteNotebookInstance(
                nb.DeleteNotebookInstanceRequest(notebook_instance_name=name)
            )
