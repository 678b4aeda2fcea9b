"""ServiceError -> an HTTP error response, in the dialect of the route it failed on.

    AWS JSON  {"__type": "ValidationException", "message": "..."}, status `code.http`
    REST      google.rpc.Status as proto JSON: {"code": 3, "message": "...", "details":
              [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": ..., ...}]},
              status from the gRPC code through HTTP_STATUS, as grpc-gateway answers

Both are built from the one table (nbpresign.common.errors) and carry x-amzn-RequestId.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from aiohttp import web
from google.protobuf import json_format
from grpc import StatusCode

from nbpresign.common import errors
from nbpresign.common.defaults import REQUEST_ID_HEADER
from nbpresign.common.errors import ErrorCode, ServiceError
from nbpresign.common.rpc_status import to_rpc_status
from nbpresign.server.gateway.marshal import AWS_JSON, PROTO_JSON

# (error, the dialect's content type, request id) -> the response.
ErrorHandler = Callable[[ServiceError, str, str], web.Response]

_S = StatusCode

# gRPC status -> HTTP status over REST: grpc-gateway's HTTPStatusFromCode, which follows
# google/rpc/code.proto.
HTTP_STATUS: dict[StatusCode, int] = {
    _S.OK: 200,
    _S.CANCELLED: 499,  # the client closed the request (nginx's code; not in the RFCs)
    _S.UNKNOWN: 500,
    _S.INVALID_ARGUMENT: 400,
    _S.DEADLINE_EXCEEDED: 504,
    _S.NOT_FOUND: 404,
    _S.ALREADY_EXISTS: 409,
    _S.PERMISSION_DENIED: 403,
    _S.UNAUTHENTICATED: 401,
    _S.RESOURCE_EXHAUSTED: 429,
    # Deliberately not 412 Precondition Failed, which is about HTTP conditional headers:
    # the request cannot succeed as is, until something else changes the state.
    _S.FAILED_PRECONDITION: 400,
    _S.ABORTED: 409,
    _S.OUT_OF_RANGE: 400,
    _S.UNIMPLEMENTED: 501,
    _S.INTERNAL: 500,
    _S.UNAVAILABLE: 503,
    _S.DATA_LOSS: 500,
}

# Errors the HTTP layer raises before any RPC runs keep their own HTTP status over REST
# too: the gRPC table would turn a wrong method into 501 (a server fault, to every
# client and test tool), a too-large body into 400 and a slow client into 504 (which
# means an upstream timed out).
OWN_HTTP_STATUS: frozenset[ErrorCode] = frozenset(
    {errors.METHOD_NOT_ALLOWED, errors.REQUEST_TOO_LARGE, errors.REQUEST_TIMEOUT}
)


class MethodNotAllowed(ServiceError):
    """A known REST path asked with a method none of its routes takes: 405 with Allow."""

    def __init__(self, method: str, allowed: Sequence[str]) -> None:
        super().__init__(
            errors.METHOD_NOT_ALLOWED,
            f"Method {method} is not allowed on this path; it takes {', '.join(allowed)}.",
        )
        self.allowed = tuple(allowed)


def rest_status(code: ErrorCode) -> int:
    return code.http if code in OWN_HTTP_STATUS else HTTP_STATUS.get(code.grpc, 500)


def aws_json_error(error: ServiceError) -> web.Response:
    """The status is the table's; botocore reads the code from `__type` and retries by
    status (500/502/503/504) or by code (ThrottlingException)."""
    body = {"__type": error.code.aws, "message": error.message}
    return web.Response(
        status=error.code.http,
        body=json.dumps(body).encode(),
        content_type=AWS_JSON,
        headers={"X-Amzn-ErrorType": error.code.aws},
    )


def status_error(error: ServiceError) -> web.Response:
    """google.rpc.Status JSON, with the same ErrorInfo and BadRequest details as gRPC."""
    body = json_format.MessageToDict(to_rpc_status(error))
    body.setdefault("details", [])
    response = web.Response(
        status=rest_status(error.code), body=json.dumps(body).encode(), content_type=PROTO_JSON
    )
    if isinstance(error, MethodNotAllowed):
        response.headers["Allow"] = ", ".join(error.allowed)
    return response


RENDERERS: dict[str, Callable[[ServiceError], web.Response]] = {
    AWS_JSON: aws_json_error,
    PROTO_JSON: status_error,
}


def default_error_handler(error: ServiceError, content_type: str, request_id: str) -> web.Response:
    response = RENDERERS[content_type](error)
    response.headers[REQUEST_ID_HEADER] = request_id
    return response
