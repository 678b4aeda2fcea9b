"""The RPCs this service offers, read from the proto descriptors.

Every table built from RPCs (the gRPC handlers, the gateway's X-Amz-Target routes, the
core's dispatch) starts from `METHODS`, so adding an RPC to a .proto adds it everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message

from nbpresign.v1 import authz_pb2, gateway_pb2, iam_pb2, notebook_instances_pb2, presign_pb2

SERVICES: tuple[ServiceDescriptor, ...] = (
    presign_pb2.DESCRIPTOR.services_by_name["PresignService"],
    notebook_instances_pb2.DESCRIPTOR.services_by_name["NotebookInstanceService"],
    iam_pb2.DESCRIPTOR.services_by_name["IamService"],
    gateway_pb2.DESCRIPTOR.services_by_name["GatewayService"],
)


@dataclass(frozen=True)
class Method:
    service: str  # "nbpresign.v1.PresignService"
    name: str  # "CreatePresignedNotebookInstanceUrl"
    input_type: type[Message]
    output_type: type[Message]
    action: str  # "sagemaker:CreatePresignedNotebookInstanceUrl"
    resource_field: str | None  # the request field naming the resource, if any
    resource_kind: int  # authz_pb2.ResourceKind of that field
    grpc_only: bool  # kept off the AWS JSON gateway

    @property
    def path(self) -> str:
        """The gRPC method path: "/nbpresign.v1.PresignService/CreatePresigned..."."""
        return f"/{self.service}/{self.name}"


def _resource_field(rpc: MethodDescriptor) -> tuple[str | None, int]:
    for field in rpc.input_type.fields:
        kind = field.GetOptions().Extensions[authz_pb2.resource]
        if kind != authz_pb2.RESOURCE_KIND_UNSPECIFIED:
            return field.name, kind
    return None, authz_pb2.RESOURCE_KIND_UNSPECIFIED


def methods_of(services: tuple[ServiceDescriptor, ...]) -> tuple[Method, ...]:
    found = []
    for service in services:
        options = service.GetOptions()
        prefix = options.Extensions[authz_pb2.action_prefix]
        if not prefix:
            raise ValueError(f"{service.full_name} needs option (nbpresign.v1.action_prefix)")
        for rpc in service.methods:
            field, kind = _resource_field(rpc)
            found.append(
                Method(
                    service=service.full_name,
                    name=rpc.name,
                    input_type=message_factory.GetMessageClass(rpc.input_type),
                    output_type=message_factory.GetMessageClass(rpc.output_type),
                    action=f"{prefix}:{rpc.name}",
                    resource_field=field,
                    resource_kind=kind,
                    grpc_only=options.Extensions[authz_pb2.grpc_only],
                )
            )
    return tuple(found)


def method_named(name: str) -> Method:
    return next(m for m in METHODS if m.name == name)


METHODS = methods_of(SERVICES)
# What the AWS JSON gateway offers: the SageMaker-shaped operations.
GATEWAY_METHODS = tuple(m for m in METHODS if not m.grpc_only)
