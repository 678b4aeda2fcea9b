"""The error table: every entry round-trips through a rich gRPC status and renders as AWS JSON."""

from __future__ import annotations

import json

import grpc
import pytest
from google.rpc import status_pb2

from nbpresign.common import errors, rpc_status
from nbpresign.common.errors import TABLE, ErrorCode, FieldViolation
from nbpresign.server.gateway.errors import default_error_handler


def test_the_table_holds_every_code_once() -> None:
    declared = [v for v in vars(errors).values() if isinstance(v, ErrorCode)]
    assert set(declared) == set(TABLE)
    pairs = [(c.aws, c.grpc) for c in TABLE]
    assert len(pairs) == len(set(pairs)), (
        "two entries travel the same way and could not be told apart"
    )


@pytest.mark.parametrize("code", TABLE, ids=lambda c: f"{c.aws}-{c.grpc.name}")
def test_every_code_round_trips_through_a_rich_status(code: ErrorCode) -> None:
    error = code("text", violations=[FieldViolation("f", "why")])
    back = rpc_status.from_rpc_status(rpc_status.to_rpc_status(error))
    assert back.code == code
    assert (back.message, back.violations) == ("text", error.violations)


@pytest.mark.parametrize("code", TABLE, ids=lambda c: f"{c.aws}-{c.grpc.name}")
def test_every_code_renders_as_aws_json(code: ErrorCode) -> None:
    response = default_error_handler(code("text"), "application/x-amz-json-1.1", "rid")
    assert response.status == code.http
    assert response.headers["X-Amzn-ErrorType"] == code.aws
    assert response.headers["x-amzn-RequestId"] == "rid"
    assert response.body is not None
    assert json.loads(bytes(response.body)) == {"__type": code.aws, "message": "text"}  # type: ignore[arg-type]


def test_errors_are_fresh_each_time() -> None:
    first, second = (
        errors.RECORD_NOT_FOUND("RecordNotFound"),
        errors.RECORD_NOT_FOUND("RecordNotFound"),
    )
    assert first is not second


@pytest.mark.parametrize(("status", "expected"), list(errors.BY_GRPC_STATUS.items()))
def test_plain_statuses_map_by_their_grpc_code(
    status: grpc.StatusCode, expected: ErrorCode
) -> None:
    plain = status_pb2.Status(code=status.value[0], message="m")
    back = rpc_status.from_rpc_status(plain)
    assert back.code.aws == expected.aws
    assert back.status == status


def test_an_unknown_aws_code_keeps_its_name_and_a_sensible_status() -> None:
    code = errors.code_for("SomethingNew", grpc.StatusCode.INVALID_ARGUMENT)
    assert (code.aws, code.http, code.retryable) == ("SomethingNew", 400, False)
    lost = errors.code_for("", grpc.StatusCode.DATA_LOSS)
    assert (lost.aws, lost.grpc, lost.http) == ("InternalFailure", grpc.StatusCode.DATA_LOSS, 500)


def test_retryable_codes_are_the_ones_sdks_retry() -> None:
    retryable = {c.aws for c in TABLE if c.retryable}
    assert {"ThrottlingException", "ServiceUnavailable", "InternalFailure"} <= retryable
    assert "ValidationException" not in retryable
