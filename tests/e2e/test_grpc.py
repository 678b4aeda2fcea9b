"""gRPC callers, through stubs generated from protos/: the same validation and errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from nbpresign.client.signing import SigningInterceptor
from nbpresign.server.rpc import reflection
from nbpresign.v1 import notebook_instances_pb2 as nb
from nbpresign.v1 import notebook_instances_pb2_grpc as nb_grpc
from nbpresign.v1 import presign_pb2, presign_pb2_grpc

from conftest import Server, unique_name

PATTERN = "Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*"


@pytest.fixture
def channel(server: Server) -> Iterator[grpc.Channel]:
    """A channel whose every call is signed with the admin's key (SigningInterceptor)."""
    with grpc.insecure_channel(server.grpc_target) as ch:
        yield grpc.intercept_channel(ch, SigningInterceptor(server.identity))


@pytest.fixture
def anonymous(server: Server) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.grpc_target) as ch:
        yield ch


def presign(
    channel: grpc.Channel, name: str, duration: int | None = None
) -> presign_pb2.CreatePresignedNotebookInstanceUrlResponse:
    request = presign_pb2.CreatePresignedNotebookInstanceUrlRequest(notebook_instance_name=name)
    if duration is not None:
        request.session_expiration_duration_in_seconds = duration
    return presign_pb2_grpc.PresignServiceStub(channel).CreatePresignedNotebookInstanceUrl(request)


def details(error: grpc.RpcError) -> tuple[str, list[tuple[str, str]]]:
    """(ErrorInfo reason, [(field, description), ...]) from the rich status."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "the error carries no rich status"
    reason, violations = "", []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations = [(v.field, v.description) for v in bad.field_violations]
    return reason, violations


def test_presign(channel: grpc.Channel, registered: str) -> None:
    url = presign(channel, registered, 3600).authorized_url
    assert url.startswith(f"http://{registered}.localhost:")
    assert "?authToken=" in url


@pytest.mark.parametrize(
    ("name", "duration", "violations"),
    [
        (
            "a_b",
            None,
            [
                (
                    "notebook_instance_name",
                    f"Value 'a_b' at 'notebookInstanceName' failed to satisfy constraint: {PATTERN}",
                )
            ],
        ),
        (
            "-a",
            None,
            [
                (
                    "notebook_instance_name",
                    f"Value '-a' at 'notebookInstanceName' failed to satisfy constraint: {PATTERN}",
                )
            ],
        ),
        (
            "a-",
            None,
            [
                (
                    "notebook_instance_name",
                    f"Value 'a-' at 'notebookInstanceName' failed to satisfy constraint: {PATTERN}",
                )
            ],
        ),
        (
            "",
            None,
            [
                (
                    "notebook_instance_name",
                    "Value null at 'notebookInstanceName' failed to satisfy constraint: Member must not be null",
                )
            ],
        ),
        (
            "ünï",
            None,
            [
                (
                    "notebook_instance_name",
                    f"Value 'ünï' at 'notebookInstanceName' failed to satisfy constraint: {PATTERN}",
                )
            ],
        ),
        (
            "a" * 64,
            None,
            [
                (
                    "notebook_instance_name",
                    f"Value '{'a' * 64}' at 'notebookInstanceName' failed to satisfy constraint: Member must have length less than or equal to 63",
                )
            ],
        ),
        (
            "ok",
            1799,
            [
                (
                    "session_expiration_duration_in_seconds",
                    "Value '1799' at 'sessionExpirationDurationInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 1800",
                )
            ],
        ),
        (
            "ok",
            43201,
            [
                (
                    "session_expiration_duration_in_seconds",
                    "Value '43201' at 'sessionExpirationDurationInSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200",
                )
            ],
        ),
        (
            "ok",
            0,
            [
                (
                    "session_expiration_duration_in_seconds",
                    "Value '0' at 'sessionExpirationDurationInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 1800",
                )
            ],
        ),
    ],
)
def test_validation(
    channel: grpc.Channel,
    registered: str,
    name: str,
    duration: int | None,
    violations: list[tuple[str, str]],
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        presign(channel, name, duration)
    error = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == f"1 validation error detected: {violations[0][1]}"
    assert details(error) == ("ValidationException", violations)
    assert presign(channel, registered).authorized_url  # still answers


def test_several_failures_at_once(channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        presign(channel, "a_" * 40, 5)
    reason, violations = details(caught.value)
    assert reason == "ValidationException"
    assert [field for field, _ in violations] == [
        "notebook_instance_name",
        "notebook_instance_name",
        "session_expiration_duration_in_seconds",
    ]
    assert str(caught.value.details()).startswith("3 validation errors detected: ")


def test_missing_instance_is_not_found_with_aws_code(channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        presign(channel, unique_name("missing"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert caught.value.details() == "RecordNotFound"
    assert details(caught.value) == ("ValidationException", [])


def test_stopped_instance_is_failed_precondition(channel: grpc.Channel, registered: str) -> None:
    stub = nb_grpc.NotebookInstanceServiceStub(channel)
    stub.StopNotebookInstance(nb.StopNotebookInstanceRequest(notebook_instance_name=registered))
    with pytest.raises(grpc.RpcError) as caught:
        presign(channel, registered)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "Stopped" in str(caught.value.details())
    assert details(caught.value)[0] == "ValidationException"


def test_registry_round_trip(channel: grpc.Channel) -> None:
    stub = nb_grpc.NotebookInstanceServiceStub(channel)
    name = unique_name("grpc")
    stub.RegisterNotebookInstance(
        nb.RegisterNotebookInstanceRequest(
            notebook_instance_name=name,
            jupyter_server_url="http://127.0.0.1:8888/",
            jupyter_token="tok",
        )
    )
    described = stub.DescribeNotebookInstance(
        nb.DescribeNotebookInstanceRequest(notebook_instance_name=name)
    )
    assert described.notebook_instance_status == "InService"
    assert described.creation_time.seconds > 0
    with pytest.raises(grpc.RpcError) as caught:
        stub.RegisterNotebookInstance(
            nb.RegisterNotebookInstanceRequest(
                notebook_instance_name=name.upper(), jupyter_server_url="http://x/"
            )
        )
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    listed = stub.ListNotebookInstances(nb.ListNotebookInstancesRequest(name_contains=name))
    assert [s.notebook_instance_name for s in listed.notebook_instances] == [name]


def test_health_is_serving(anonymous: grpc.Channel) -> None:
    channel = anonymous
    stub = health_pb2_grpc.HealthStub(channel)
    for service in ("", "nbpresign.v1.PresignService", "nbpresign.v1.NotebookInstanceService"):
        reply = stub.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_services(anonymous: grpc.Channel) -> None:
    channel = anonymous
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    response = next(iter(stub.ServerReflectionInfo(iter([request]))))
    names = {s.name for s in response.list_services_response.service}
    assert {
        "nbpresign.v1.PresignService",
        "nbpresign.v1.NotebookInstanceService",
        "grpc.health.v1.Health",
    } <= names
    file_request = reflection_pb2.ServerReflectionRequest(
        file_containing_symbol="nbpresign.v1.PresignService"
    )
    file_response = next(iter(stub.ServerReflectionInfo(iter([file_request]))))
    assert file_response.file_descriptor_response.file_descriptor_proto


def test_reflection_v1_too(anonymous: grpc.Channel) -> None:
    # grpcurl, buf curl and Postman ask v1 first; its messages are v1alpha's, renamed.
    pool = descriptor_pool.DescriptorPool()
    pool.Add(reflection.v1_file())
    request_type = message_factory.GetMessageClass(
        pool.FindMessageTypeByName("grpc.reflection.v1.ServerReflectionRequest")
    )
    response_type = message_factory.GetMessageClass(
        pool.FindMessageTypeByName("grpc.reflection.v1.ServerReflectionResponse")
    )
    info = anonymous.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=request_type.SerializeToString,
        response_deserializer=response_type.FromString,
    )
    listing, described = info(
        iter(
            [
                request_type(list_services=""),
                request_type(file_containing_symbol="grpc.reflection.v1.ServerReflection"),
            ]
        )
    )
    names = {s.name for s in listing.list_services_response.service}
    assert {
        "nbpresign.v1.PresignService",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= names
    (raw,) = described.file_descriptor_response.file_descriptor_proto
    assert descriptor_pb2.FileDescriptorProto.FromString(raw).package == "grpc.reflection.v1"


def request_id_in(metadata: Iterable[Any] | None) -> str:  # (key, value) pairs
    ids = [str(value) for key, value in metadata or () if key == "x-amzn-requestid"]
    assert len(ids) == 1, metadata
    uuid.UUID(ids[0])  # a UUID, as the gateway's x-amzn-RequestId
    return ids[0]


def test_every_call_reports_its_request_id(channel: grpc.Channel, registered: str) -> None:
    stub = presign_pb2_grpc.PresignServiceStub(channel)
    request = presign_pb2.CreatePresignedNotebookInstanceUrlRequest(
        notebook_instance_name=registered
    )
    _, call = stub.CreatePresignedNotebookInstanceUrl.with_call(request)
    succeeded = request_id_in(call.trailing_metadata())
    request.notebook_instance_name = "missing-" + registered
    with pytest.raises(grpc.RpcError) as failed:
        stub.CreatePresignedNotebookInstanceUrl(request)
    assert failed.value.code() == grpc.StatusCode.NOT_FOUND
    failure = request_id_in(failed.value.trailing_metadata())
    assert failure != succeeded
