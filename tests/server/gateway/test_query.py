from __future__ import annotations

import pytest
from google.protobuf import descriptor_pb2

from nbpresign.common.errors import ServiceError
from nbpresign.server.gateway import query
from nbpresign.v1 import notebook_instances_pb2 as nb

# A message with repeated scalars, a nested message, bools and enums, to fill.
File = descriptor_pb2.FileDescriptorProto


def test_fields_by_proto_name_or_json_name() -> None:
    message = nb.ListNotebookInstancesRequest()
    query.populate(message, [("max_results", "10"), ("SortBy", "Name")])
    assert message == nb.ListNotebookInstancesRequest(max_results=10, sort_by="Name")


def test_timestamps_in_rfc_3339() -> None:
    message = nb.ListNotebookInstancesRequest()
    query.populate(message, [("CreationTimeAfter", "2026-01-02T03:04:05Z")])
    assert message.creation_time_after.ToJsonString() == "2026-01-02T03:04:05Z"


def test_repeated_nested_bools_and_enums() -> None:
    message = File()
    query.populate(
        message,
        [
            ("dependency", "a.proto"),
            ("dependency", "b.proto"),
            ("publicDependency", "1"),
            ("options.java_package", "com.x"),
            ("options.cc_enable_arenas", "true"),
            ("options.optimize_for", "CODE_SIZE"),
        ],
    )
    assert list(message.dependency) == ["a.proto", "b.proto"]
    assert list(message.public_dependency) == [1]
    assert message.options.java_package == "com.x"
    assert message.options.cc_enable_arenas is True
    assert message.options.optimize_for == descriptor_pb2.FileOptions.CODE_SIZE


@pytest.mark.parametrize(
    ("params", "complaint"),
    [
        ([("max_result", "10")], "Unknown parameter 'max_result'"),
        ([("max_results", "ten")], "bad value"),
        ([("max_results", "1"), ("max_results", "2")], "takes one value, not 2"),
        ([("creation_time_after", "yesterday")], "bad value"),
        ([("sort_by.x", "1")], "Unknown parameter 'sort_by.x'"),
    ],
)
def test_refused(params: list[tuple[str, str]], complaint: str) -> None:
    with pytest.raises(ServiceError) as caught:
        query.populate(nb.ListNotebookInstancesRequest(), params)
    assert caught.value.code.aws == "SerializationException"
    assert complaint in caught.value.message


@pytest.mark.parametrize(
    ("params", "complaint"),
    [
        ([("options", "x")], "is a message"),
        ([("options.cc_enable_arenas", "yes")], "must be true or false"),
        ([("options.optimize_for", "FASTEST")], "bad value"),
    ],
)
def test_refused_for_nested_fields(params: list[tuple[str, str]], complaint: str) -> None:
    with pytest.raises(ServiceError) as caught:
        query.populate(File(), params)
    assert complaint in caught.value.message


@pytest.mark.parametrize("name", ["notebook_instance_name", "NotebookInstanceName"])
def test_a_field_the_path_binds_cannot_come_again(name: str) -> None:
    from nbpresign.v1 import presign_pb2

    with pytest.raises(ServiceError, match="given by the path"):
        query.populate(
            presign_pb2.CreatePresignedNotebookInstanceUrlRequest(),
            [(name, "x")],
            bound=["notebook_instance_name"],
        )


def test_set_field_fills_a_path_variable() -> None:
    message = File()
    query.set_field(message, "options.java_package", ["com.y"])
    assert message.options.java_package == "com.y"
