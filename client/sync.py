"""The blocking client."""

from __future__ import annotations

from types import TracebackType

import grpc

from nbpresign.client.errors import rpc_errors
from nbpresign.client.requests import list_request, presign_request
from nbpresign.v1 import notebook_instances_pb2 as nb
from nbpresign.v1 import notebook_instances_pb2_grpc as nb_grpc
from nbpresign.v1 import presign_pb2_grpc


class Client:
    def __init__(self, target: str, *, channel: grpc.Channel | None = None) -> None:
        self._channel = channel or grpc.insecure_channel(target)
        self._presign = presign_pb2_grpc.PresignServiceStub(self._channel)
        self._instances = nb_grpc.NotebookInstanceServiceStub(self._channel)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def create_presigned_notebook_instance_url(
        self, name: str, session_expiration_duration_in_seconds: int | None = None
    ) -> str:
        request = presign_request(name, session_expiration_duration_in_seconds)
        with rpc_errors():
            return self._presign.CreatePresignedNotebookInstanceUrl(request).authorized_url

    def register_notebook_instance(
        self, name: str, jupyter_server_url: str, jupyter_token: str = ""
    ) -> str:
        request = nb.RegisterNotebookInstanceRequest(
            notebook_instance_name=name,
            jupyter_server_url=jupyter_server_url,
            jupyter_token=jupyter_token,
        )
        with rpc_errors():
            return self._instances.RegisterNotebookInstance(request).notebook_instance_arn

    def describe_notebook_instance(self, name: str) -> nb.DescribeNotebookInstanceResponse:
        request = nb.DescribeNotebookInstanceRequest(notebook_instance_name=name)
        with rpc_errors():
            return self._instances.DescribeNotebookInstance(request)

    def list_notebook_instances(
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
            return self._instances.ListNotebookInstances(request)

    def start_notebook_instance(self, name: str) -> None:
        with rpc_errors():
            self._instances.StartNotebookInstance(
                nb.StartNotebookInstanceRequest(notebook_instance_name=name)
            )

    def stop_notebook_instance(self, name: str) -> None:
        with rpc_errors():
            self._instances.StopNotebookInstance(
                nb.StopNotebookInstanceRequest(notebook_instance_name=name)
            )

    def delete_notebook_instance(self, name: str) -> None:
        with rpc_errors():
            self._instances.DeleteNotebookInstance(
                nb.DeleteNotebookInstanceRequest(notebook_instance_name=name)
            )
