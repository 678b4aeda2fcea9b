"""The RPCs this service offers, read from the proto descriptors.

Every table built from RPCs (the gRPC handlers, the gateway's X-Amz-Target and REST
routes, the OpenAPI document, the core's dispatch) starts from `METHODS`, so adding an
RPC to a .proto adds it everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.api import annotations_pb2, http_pb2
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
class HttpBinding:
    """One google.api.http rule (or one of its additional_bindings)."""

    verb: str  # "GET", "POST", ... (a custom rule's kind as written)
    template: str  # "/v1/notebook-instances/{notebook_instance_name}:createPresignedUrl"
    body: str  # "*", a field name, or "" (no body: every unbound field from the query)
    response_body: str  # "" (the whole response) or a response field name


@dataclass(frozen=True)
class Method:
    service: str  # "nbpresign.v1.PresignService"
    name: str  # "CreatePresignedNotebookInstanceUrl"
    input_type: type[Message]
    output_type: type[Message]
    action: str  # "sagemaker:CreatePresignedNotebookInstanceUrl"
    resource_field: str | None  # the request field naming the resource, if any
    resource_kind: int  # authz_pb2.ResourceKind of that field
    aws_json: bool  # offered under X-Amz-Target (not an option (no_aws_json) service)
    http: tuple[HttpBinding, ...]  # its REST routes, from (google.api.http); may be none

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


def _binding(rule: http_pb2.HttpRule) -> HttpBinding:
    pattern = rule.WhichOneof("pattern")
    if pattern is None:
        raise ValueError(f"an HTTP rule without a pattern: {rule}")
    if pattern == "custom":
        verb, template = rule.custom.kind, rule.custom.path
    else:
        verb, template = pattern.upper(), getattr(rule, pattern)
    return HttpBinding(verb, template, rule.body, rule.response_body)


def _http_bindings(rpc: MethodDescriptor) -> tuple[HttpBinding, ...]:
    options = rpc.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return ()
    rule = options.Extensions[annotations_pb2.http]
    return (_binding(rule), *(_binding(extra) for extra in rule.additional_bindings))


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
                    aws_json=not options.Extensions[authz_pb2.no_aws_json],
                    http=_http_bindings(rpc),
                )
            )
    return tuple(found)


def method_named(name: str) -> Method:
    return next(m for m in METHODS if m.name == name)


METHODS = methods_of(SERVICES)
# What the AWS JSON dialect offers: the SageMaker-shaped operations.
AWS_JSON_METHODS = tuple(m for m in METHODS if m.aws_json)
