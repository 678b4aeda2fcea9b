"""The API host's handler: AWS JSON (X-Amz-Target) and REST (google.api.http) routes.

Each request, in either dialect: its size is checked from the headers, it is routed
(router), its body read, its SigV4 signature verified (through the transport), its
message read (marshal; for REST also the path variables and the query: query), and it is
passed to the core with the caller and the caller's address (behind trusted proxies,
the client they name). The same validation, authorization and handlers run for both,
and for gRPC.

Every response carries x-amzn-RequestId; every failure, routing failures and
unexpected exceptions included, leaves through one error handler, in the dialect the
request speaks (errors).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from aiohttp import web
from google.protobuf.message import Message

from nbpresign.common import errors
from nbpresign.common.defaults import REQUEST_ID_HEADER
from nbpresign.server.api.context import CallContext, new_request_id
from nbpresign.server.api.failures import failure
from nbpresign.server.auth.sigv4 import SignedRequest, sha256_hex
from nbpresign.server.auth.source_ip import Network, http_caller
from nbpresign.server.gateway import query
from nbpresign.server.gateway.errors import ErrorHandler, default_error_handler
from nbpresign.server.gateway.marshal import AWS_JSON, MARSHALERS, Marshaler, serialization_error
from nbpresign.server.gateway.router import Match, Router
from nbpresign.server.gateway.transport import Transport
from nbpresign.server.http.bodies import read_body

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


def read_message(
    match: Match, request: web.BaseRequest, body: bytes, marshaler: Marshaler
) -> Message:
    """The request message, from the body and, for REST, the path and the query."""
    if match.dialect == AWS_JSON:
        if request.content_type != AWS_JSON:
            raise serialization_error(
                f"Content-Type must be {AWS_JSON}, not '{request.content_type}'."
            )
        return marshaler.parse(body, match.method.input_type)
    # REST reads the body as JSON whatever its Content-Type, as grpc-gateway's default
    # marshaler does: `curl -d '{...}'` sends application/x-www-form-urlencoded.
    message = _rest_body(match, body, marshaler)
    for variable, value in match.variables.items():
        query.set_field(message, variable, [value])
    bound = [*match.variables, *_body_fields(match, message)]
    query.populate(message, request.rel_url.query.items(), bound=bound)
    return message


def _rest_body(match: Match, body: bytes, marshaler: Marshaler) -> Message:
    input_type = match.method.input_type
    if match.body == "*":
        message = marshaler.parse(body, input_type)
        given = [f.name for f, _ in message.ListFields() if f.name in _tops(match.variables)]
        if given:
            raise serialization_error(f"'{given[0]}' is given by the path, not the body.")
        return message
    if body.strip() and not match.body:
        raise serialization_error("This route takes no request body.")
    message = input_type()
    if match.body:
        field = getattr(message, match.body)
        field.CopyFrom(marshaler.parse(body, type(field)))
    return message


def _tops(variables: Mapping[str, str]) -> set[str]:
    return {name.split(".")[0] for name in variables}


def _body_fields(match: Match, message: Message) -> list[str]:
    """With body "*" every field comes from the body: none from the query."""
    if match.body == "*":
        return [f.name for f in message.DESCRIPTOR.fields]
    return [match.body] if match.body else []


def build_api(
    router: Router,
    transport: Transport,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    error_handler: ErrorHandler = default_error_handler,
    marshalers: Mapping[str, Marshaler] = MARSHALERS,
    trusted_proxies: Sequence[Network] = (),
) -> Handler:
    """The handler for every request to the API host."""

    async def api(request: web.BaseRequest) -> web.Response:
        if request.content_length is not None and request.content_length > max_body_bytes:
            raise errors.REQUEST_TOO_LARGE("The request body is too large.")
        # Routed before it is authenticated: a route is no secret (/openapi.json lists
        # them all), and an unknown one is answered without reading the body.
        match = router.resolve(request.method, request.rel_url.raw_path, request.headers)
        body = await read_body(request, max_bytes=max_body_bytes)
        principal = await transport.authenticate(signed_request(request, body))
        marshaler = marshalers[match.dialect]
        message = read_message(match, request, body, marshaler)
        source_ip, secure = http_caller(
            request.remote or "", request.headers, request.scheme, trusted_proxies
        )
        ctx = CallContext(source_ip=source_ip, principal=principal, secure_transport=secure)
        result = await transport.call(match.method, message, ctx)
        if match.response_body:
            result = getattr(result, match.response_body)
        return web.Response(body=marshaler.render(result), content_type=marshaler.content_type)

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        request_id = new_request_id()
        dialect = router.dialect(request.rel_url.raw_path, request.headers)
        try:
            response = await api(request)
        except web.HTTPRequestEntityTooLarge:  # the body outgrew client_max_size as it came
            return error_handler(
                errors.REQUEST_TOO_LARGE("The request body is too large."), dialect, request_id
            )
        except Exception as exc:
            error = failure(exc, request_id=request_id, where=request.path)
            return error_handler(error, dialect, request_id)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response

    return handle
