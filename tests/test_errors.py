"""The error tables: ServiceError <-> rich gRPC status, and AWS code -> HTTP status."""

from __future__ import annotations

import json

import grpc
import pytest
from google.rpc import status_pb2

from nbpresign.server import rpc_status
from nbpresign.server.errors import FieldViolation, ServiceError, record_not_found
from nbpresign.server.gateway.errors import HTTP_STATUS, default_error_handler


def test_rich_status_round_trip() -> None:
    error = ServiceError(
        "ValidationException",
        "1 validation error detected: x",
        violations=[FieldViolation("f", "x")],
    )
    back = rpc_status.from_rpc_status(rpc_status.to_rpc_status(error))
    assert (back.code, back.message, back.status, back.violations) == (
        error.code,
        error.message,
        grpc.StatusCode.INVALID_ARGUMENT,
        error.violations,
    )


def test_not_found_keeps_its_aws_code() -> None:
    status = rpc_status.to_rpc_status(record_not_found())
    assert status.code == grpc.StatusCode.NOT_FOUND.value[0]
    assert rpc_status.from_rpc_status(status).code == "ValidationException"


@pytest.mark.parametrize(("code", "aws"), list(rpc_status.DEFAULT_AWS_CODES.items()))
def test_plain_statuses_map_by_code(code: grpc.StatusCode, aws: str) -> None:
    plain = status_pb2.Status(code=code.value[0], message="m")
    assert rpc_status.from_rpc_status(plain).code == aws


@pytest.mark.parametrize(("code", "http"), list(HTTP_STATUS.items()))
def test_aws_error_response(code: str, http: int) -> None:
    response = default_error_handler(ServiceError(code, "text"), "rid")
    assert response.status == http
    assert response.headers["X-Amzn-ErrorType"] == code
    assert response.headers["x-amzn-RequestId"] == "rid"
    assert response.body is not None
    assert json.loads(bytes(response.body)) == {"__type": code, "message": "text"}  # type: ignore[arg-type]


def test_unknown_codes_are_client_errors() -> None:
    assert default_error_handler(ServiceError("SomethingNew", "x"), "r").status == 400
