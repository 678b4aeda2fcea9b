"""ServiceError -> AWS JSON error response: {"__type": CODE, "message": TEXT}."""

from __future__ import annotations

import json
from collections.abc import Callable

from aiohttp import web

from nbpresign.common.defaults import REQUEST_ID_HEADER
from nbpresign.common.errors import ServiceError
from nbpresign.server.gateway.marshal import CONTENT_TYPE

ErrorHandler = Callable[[ServiceError, str], web.Response]


def default_error_handler(error: ServiceError, request_id: str) -> web.Response:
    """The status is the table's (nbpresign.common.errors); botocore reads the code from
    `__type` and retries by status (500/502/503/504) or by code (ThrottlingException)."""
    body = {"__type": error.code.aws, "message": error.message}
    return web.Response(
        status=error.code.http,
        body=json.dumps(body).encode(),
        content_type=CONTENT_TYPE,
        headers={REQUEST_ID_HEADER: request_id, "X-Amzn-ErrorType": error.code.aws},
    )
