"""ServiceError -> AWS JSON error response: {"__type": CODE, "message": TEXT}."""

from __future__ import annotations

import json
from collections.abc import Callable

from aiohttp import web

from nbpresign.server.context import REQUEST_ID_HEADER
from nbpresign.server.errors import ServiceError
from nbpresign.server.gateway.marshal import CONTENT_TYPE

# AWS error code -> HTTP status. botocore reads the code from the body's __type, and
# retries 500/502/503/504, so the status matters for retries as much as for humans.
HTTP_STATUS: dict[str, int] = {
    "ValidationException": 400,
    "SerializationException": 400,
    "UnknownOperationException": 400,
    "ThrottlingException": 400,  # AWS's JSON services throttle with 400, not 429
    "AccessDeniedException": 400,  # SageMaker's older pages; newer ones say 403
    "IncompleteSignature": 400,
    "InvalidSignatureException": 400,
    "UnrecognizedClientException": 400,
    "MissingAuthenticationToken": 403,
    "RequestEntityTooLargeException": 413,
    "InternalFailure": 500,
    "ServiceUnavailable": 503,
}
DEFAULT_STATUS = 400  # a code not in the table is a client error unless said otherwise

ErrorHandler = Callable[[ServiceError, str], web.Response]


def default_error_handler(error: ServiceError, request_id: str) -> web.Response:
    body = {"__type": error.code, "message": error.message}
    return web.Response(
        status=HTTP_STATUS.get(error.code, DEFAULT_STATUS),
        body=json.dumps(body).encode(),
        content_type=CONTENT_TYPE,
        headers={REQUEST_ID_HEADER: request_id, "X-Amzn-ErrorType": error.code},
    )


# aiohttp's own refusals (raised before our handler runs) -> the AWS error they mean.
HTTP_EXCEPTIONS: dict[int, ServiceError] = {
    404: ServiceError("UnknownOperationException", "Requests go to POST / with an X-Amz-Target."),
    405: ServiceError("UnknownOperationException", "Requests go to POST / with an X-Amz-Target."),
    413: ServiceError("RequestEntityTooLargeException", "The request body is too large."),
}


def from_http_exception(exc: web.HTTPException) -> ServiceError:
    return HTTP_EXCEPTIONS.get(
        exc.status, ServiceError("SerializationException", exc.reason or "Bad request.")
    )
