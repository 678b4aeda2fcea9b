"""ServiceError over REST: google.rpc.Status JSON with grpc-gateway's HTTP statuses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web
from grpc import StatusCode

from nbpresign.common import errors
from nbpresign.common.errors import TABLE, ErrorCode, FieldViolation
from nbpresign.server.gateway.errors import (
    HTTP_STATUS,
    OWN_HTTP_STATUS,
    MethodNotAllowed,
    default_error_handler,
    rest_status,
)

REST = "application/json"


def body_of(response: web.Response) -> Any:
    assert response.body is not None
    return json.loads(bytes(response.body))  # type: ignore[arg-type]


# As google/rpc/code.proto and grpc-gateway's HTTPStatusFromCode give them.
@pytest.mark.parametrize(
    ("status", "http"),
    [
        (StatusCode.OK, 200),
        (StatusCode.CANCELLED, 499),
        (StatusCode.UNKNOWN, 500),
        (StatusCode.INVALID_ARGUMENT, 400),
        (StatusCode.DEADLINE_EXCEEDED, 504),
        (StatusCode.NOT_FOUND, 404),
        (StatusCode.ALREADY_EXISTS, 409),
        (StatusCode.PERMISSION_DENIED, 403),
        (StatusCode.UNAUTHENTICATED, 401),
        (StatusCode.RESOURCE_EXHAUSTED, 429),
        (StatusCode.FAILED_PRECONDITION, 400),
        (StatusCode.ABORTED, 409),
        (StatusCode.OUT_OF_RANGE, 400),
        (StatusCode.UNIMPLEMENTED, 501),
        (StatusCode.INTERNAL, 500),
        (StatusCode.UNAVAILABLE, 503),
        (StatusCode.DATA_LOSS, 500),
    ],
)
def test_http_status_of_each_grpc_code(status: StatusCode, http: int) -> None:
    assert HTTP_STATUS[status] == http


def test_the_table_covers_every_grpc_code() -> None:
    assert set(HTTP_STATUS) == set(StatusCode)


@pytest.mark.parametrize("code", TABLE, ids=lambda c: f"{c.aws}-{c.grpc.name}")
def test_every_code_renders_as_a_status(code: ErrorCode) -> None:
    error = code("text", violations=[FieldViolation("notebook_instance_name", "why")])
    response = default_error_handler(error, REST, "rid")
    assert response.status == (code.http if code in OWN_HTTP_STATUS else HTTP_STATUS[code.grpc])
    assert response.headers["x-amzn-RequestId"] == "rid"
    assert response.content_type == "application/json"
    body = body_of(response)
    assert body["code"] == code.grpc.value[0]
    assert body["message"] == "text"
    assert {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": code.aws,
        "domain": "nbpresign.v1",
    } in body["details"]
    assert {
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"field": "notebook_instance_name", "description": "why"}],
    } in body["details"]


def test_examples() -> None:
    assert rest_status(errors.VALIDATION) == 400
    assert rest_status(errors.RECORD_NOT_FOUND) == 404  # AWS JSON says 400 for it
    assert rest_status(errors.ACCESS_DENIED) == 403
    assert rest_status(errors.MISSING_AUTHENTICATION) == 401
    assert rest_status(errors.THROTTLING) == 429
    assert rest_status(errors.WRONG_STATUS) == 400
    assert rest_status(errors.NO_ROUTE) == 404
    assert rest_status(errors.REQUEST_TOO_LARGE) == 413


def test_a_wrong_method_is_405_with_allow() -> None:
    response = default_error_handler(MethodNotAllowed("PUT", ["GET", "DELETE"]), REST, "rid")
    assert response.status == 405
    assert response.headers["Allow"] == "GET, DELETE"
    assert body_of(response)["code"] == StatusCode.UNIMPLEMENTED.value[0]
