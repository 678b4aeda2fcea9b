from __future__ import annotations

from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2

from nbpresign.server.rpc import reflection


def test_v1_is_v1alpha_renamed_field_for_field() -> None:
    v1 = reflection.v1_file()
    v1alpha = descriptor_pb2.FileDescriptorProto.FromString(reflection_pb2.DESCRIPTOR.serialized_pb)
    assert (v1.name, v1.package) == ("grpc/reflection/v1/reflection.proto", "grpc.reflection.v1")
    for new, old in zip(v1.message_type, v1alpha.message_type, strict=True):
        assert new.name == old.name
        assert [(f.name, f.number, f.type) for f in new.field] == [
            (f.name, f.number, f.type) for f in old.field
        ]
        assert all("v1alpha" not in f.type_name for f in new.field)
    (service,) = v1.service
    assert [m.input_type for m in service.method] == [".grpc.reflection.v1.ServerReflectionRequest"]
