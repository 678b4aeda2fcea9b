"""The API host's handler: POST / with X-Amz-Target, AWS JSON in and out.

Each request: its size is checked from the headers, its body read, its SigV4 signature
verified (through the transport), then it is routed, parsed and passed to the core with
the caller and the caller's address (behind trusted proxies, the client they name).

Every response carries x-amzn-RequestId; every failure, unexpected exceptions included,
leaves as an AWS JSON error through one error handler.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from aiohttp import web

from nbpresign.common import errors
from nbpresign.common.defaults import REQUEST_ID_HEADER
from nbpresign.common.errors import ServiceError, internal_failure
from nbpresign.server.api.context import CallContext, new_request_id
from nbpresign.server.api.methods import Method
from nbpresign.server.auth.sigv4 import SignedRequest, sha256_hex
from nbpresign.server.auth.source_ip import Network, http_caller
from nbpresign.server.gateway import marshal, router
from nbpresign.server.gateway.errors import ErrorHandler, default_error_handler
from nbpresign.server.gateway.transport import Transport

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 64 * 1024  # the largest real request is a few hundred bytes

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


def signed_request(request: web.BaseRequest, body: bytes) -> SignedRequest:
    """What a SigV4 signature of this request covers."""
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), []).append(value)
    return SignedRequest(
        method=request.method,
        host=request.host,
        path=request.rel_url.raw_path,
        query=request.rel_url.raw_query_string,
        headers={name: ",".join(values) for name, values in headers.items()},
        body_sha256=sha256_hex(body),
    )


def build_api(
    routes: Mapping[str, Method],
    transport: Transport,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    error_handler: ErrorHandler = default_error_handler,
    trusted_proxies: Sequence[Network] = (),
) -> Handler:
    """The handler for every request to the API host."""

    async def api(request: web.BaseRequest) -> web.Response:
        if request.method != "POST" or request.path != "/":
            raise errors.UNKNOWN_OPERATION("Requests go to POST / with an X-Amz-Target.")
        if request.content_length is not None and request.content_length > max_body_bytes:
            raise errors.REQUEST_TOO_LARGE("The request body is too large.")
        body = await request.read()
        principal = await transport.authenticate(signed_request(request, body))
        method = router.resolve(routes, request.headers.get("X-Amz-Target"))
        if request.content_type != marshal.CONTENT_TYPE:
            raise marshal.serialization_error(
                f"Content-Type must be {marshal.CONTENT_TYPE}, not '{request.content_type}'."
            )
        message = marshal.parse(body, method.input_type)
        source_ip, secure = http_caller(
            request.remote or "", request.headers, request.scheme, trusted_proxies
        )
        ctx = CallContext(source_ip=source_ip, principal=principal, secure_transport=secure)
        result = await transport.call(method, message, ctx)
        return web.Response(body=marshal.render(result), content_type=marshal.CONTENT_TYPE)

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        request_id = new_request_id()
        try:
            response = await api(request)
        except ServiceError as error:
            return error_handler(error, request_id)
        except web.HTTPRequestEntityTooLarge:  # the body outgrew client_max_size as it came
            return error_handler(
                errors.REQUEST_TOO_LARGE("The request body is too large."), request_id
            )
        except Exception:
            log.exception("request %s failed", request_id)
            return error_handler(internal_failure(), request_id)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response

    return handle
