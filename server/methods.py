"""The RPCs this service offers, read from the proto descriptors.

Every table built from RPCs (the gRPC handlers, the gateway's X-Amz-Target routes, the
core's dispatch) starts from `METHODS`, so adding an RPC to a .proto adds it everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message

from nbpresign.v1 import notebook_instances_pb2, presign_pb2

SERVICES: tuple[ServiceDescriptor, ...] = (
    presign_pb2.DESCRIPTOR.services_by_name["PresignService"],
    notebook_instances_pb2.DESCRIPTOR.services_by_name["NotebookInstanceService"],
)


@dataclass(frozen=True)
class Method:
    service: str  # "nbpresign.v1.PresignService"
    name: str  # "CreatePresignedNotebookInstanceUrl"
    input_type: type[Message]
    output_type: type[Message]

    @property
    def path(self) -> str:
        """The gRPC method path: "/nbpresign.v1.PresignService/CreatePresigned..."."""
        return f"/{self.service}/{self.name}"


def methods_of(services: tuple[ServiceDescriptor, ...]) -> tuple[Method, ...]:
    return tuple(
        Method(
            service=service.full_name,
            name=rpc.name,
            input_type=message_factory.GetMessageClass(rpc.input_type),
            output_type=message_factory.GetMessageClass(rpc.output_type),
        )
        for service in services
        for rpc in service.methods
    )


METHODS = methods_of(SERVICES)
