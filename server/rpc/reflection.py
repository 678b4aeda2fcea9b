"""Server reflection in both versions: grpc.reflection.v1 and v1alpha.

grpcio-reflection (1.85) implements only v1alpha, but grpcurl, buf curl and Postman ask
for v1 first. v1 is the same protocol under another package (the same messages, field
for field), so one servicer answers both; v1's descriptor (v1alpha's, renamed) is added
to the pool so that `describe grpc.reflection.v1.ServerReflection` finds it too.
"""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha._async import ReflectionServicer  # what enable_server_reflection uses

V1_SERVICE = "grpc.reflection.v1.ServerReflection"
V1_FILE = "grpc/reflection/v1/reflection.proto"
_V1ALPHA, _V1 = ".grpc.reflection.v1alpha.", ".grpc.reflection.v1."


def v1_file() -> descriptor_pb2.FileDescriptorProto:
    """reflection.proto v1, made from v1alpha's descriptor."""
    file = descriptor_pb2.FileDescriptorProto.FromString(reflection_pb2.DESCRIPTOR.serialized_pb)
    file.name, file.package = V1_FILE, "grpc.reflection.v1"
    file.ClearField("options")
    for message in file.message_type:
        for field in message.field:
            if field.HasField("type_name"):
                field.type_name = field.type_name.replace(_V1ALPHA, _V1)
    for service in file.service:
        for method in service.method:
            method.input_type = method.input_type.replace(_V1ALPHA, _V1)
            method.output_type = method.output_type.replace(_V1ALPHA, _V1)
    return file


def _add_v1_descriptor(pool: descriptor_pool.DescriptorPool) -> None:
    try:
        pool.FindFileByName(V1_FILE)
    except KeyError:
        pool.Add(v1_file())


def enable(server: grpc.aio.Server, service_names: Iterable[str]) -> None:
    """Serves reflection v1 and v1alpha for `service_names` (and for themselves)."""
    _add_v1_descriptor(descriptor_pool.Default())
    servicer = ReflectionServicer([*service_names, reflection.SERVICE_NAME, V1_SERVICE])
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    v1 = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(V1_SERVICE, {"ServerReflectionInfo": v1})]
    )
