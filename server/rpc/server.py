"""The gRPC transport: every RPC in METHODS, plus health and reflection (v1 and v1alpha).

Each call is authenticated from its metadata and its raw request bytes before it is
decoded; health and reflection stay open to anonymous callers (probes and grpcurl need
them, and they reveal nothing beyond the protos).

Errors leave here and only here: a ServiceError becomes its rich status; anything
else is logged with its traceback and becomes INTERNAL "InternalFailure".
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import grpc
from google.protobuf.message import DecodeError, Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer  # public as health.aio; the stubs miss it
from grpc_status import rpc_status

from nbpresign.common import errors
from nbpresign.common.rpc_status import to_rpc_status
from nbpresign.server.api.context import REQUEST_ID_HEADER, CallContext, new_request_id
from nbpresign.server.api.core import Core
from nbpresign.server.api.failures import failure
from nbpresign.server.api.methods import Method
from nbpresign.server.rpc import reflection

log = logging.getLogger(__name__)

REQUEST_ID_METADATA = REQUEST_ID_HEADER.lower()
MAX_CONCURRENT_STREAMS = 100  # calls at once on one connection (HTTP/2 SETTINGS)
MAX_CONCURRENT_RPCS = 1000  # calls at once in this process; past it, RESOURCE_EXHAUSTED
KEEPALIVE_SECONDS = 60
KEEPALIVE_TIMEOUT_SECONDS = 20

Context = grpc.aio.ServicerContext[bytes, Message]
CallAuthenticator = Callable[[Context, Method, bytes], Awaitable[CallContext]]
GrpcHandler = Callable[[bytes, Context], Awaitable[Message]]


def _decode(method: Method, body: bytes) -> Message:
    try:
        return method.input_type.FromString(body)
    except DecodeError:
        raise errors.SERIALIZATION("The request message could not be decoded.") from None


def _handler(core: Core, method: Method, authenticate: CallAuthenticator) -> GrpcHandler:
    async def handle(body: bytes, context: Context) -> Message:
        request_id = new_request_id()
        # In the trailers, which go out with the status anyway: sending initial metadata
        # on its own costs an extra write per call (bench/README.md).
        context.set_trailing_metadata(((REQUEST_ID_METADATA, request_id),))
        try:
            ctx = await authenticate(context, method, body)
            return await core.call(method, _decode(method, body), ctx)
        except Exception as exc:
            error = failure(exc, request_id=request_id, where=method.path)
        status = rpc_status.to_status(to_rpc_status(error))
        trailers = (*status.trailing_metadata, (REQUEST_ID_METADATA, request_id))
        await context.abort(status.code, status.details, trailers)

    return handle


def service_handlers(
    core: Core, methods: Iterable[Method], *, authenticate: CallAuthenticator
) -> list[grpc.GenericRpcHandler[Any, Any]]:
    by_service: dict[str, dict[str, grpc.RpcMethodHandler[Any, Any]]] = {}
    for method in methods:
        by_service.setdefault(method.service, {})[method.name] = (
            grpc.unary_unary_rpc_method_handler(
                _handler(core, method, authenticate),
                request_deserializer=None,  # raw bytes: the signature covers them as sent
                response_serializer=method.output_type.SerializeToString,
            )
        )
    return [grpc.method_handlers_generic_handler(s, h) for s, h in by_service.items()]


def server_options(
    *,
    reuse_port: bool = False,
    max_connections: int | None = None,
    idle_timeout: float | None = None,
    handshake_timeout: float | None = None,
) -> list[tuple[str, int]]:
    """grpc.aio.server's channel arguments; None leaves gRPC's default (unlimited)."""
    options = [
        # gRPC sets SO_REUSEPORT by default; off unless --workers asks, so that a second
        # `serve` on a taken port fails loudly instead of sharing it.
        ("grpc.so_reuseport", 1 if reuse_port else 0),
        ("grpc.max_concurrent_streams", MAX_CONCURRENT_STREAMS),
        # Pings on connections with calls open find peers that vanished under them.
        ("grpc.keepalive_time_ms", KEEPALIVE_SECONDS * 1000),
        ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_SECONDS * 1000),
    ]
    if max_connections is not None:  # past it, a new connection is closed at once
        options.append(("grpc.max_allowed_incoming_connections", max_connections))
    if idle_timeout is not None:  # an idle connection gets GOAWAY; clients reconnect
        options.append(("grpc.max_connection_idle_ms", _ms(idle_timeout)))
    if handshake_timeout is not None:  # a connection that never speaks HTTP/2
        options.append(("grpc.server_handshake_timeout_ms", _ms(handshake_timeout)))
    return options


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def build_server(
    core: Core,
    methods: Iterable[Method],
    *,
    authenticate: CallAuthenticator,
    reuse_port: bool = False,
    max_connections: int | None = None,
    idle_timeout: float | None = None,
    handshake_timeout: float | None = None,
) -> tuple[grpc.aio.Server, HealthServicer]:
    methods = tuple(methods)
    options = server_options(
        reuse_port=reuse_port,
        max_connections=max_connections,
        idle_timeout=idle_timeout,
        handshake_timeout=handshake_timeout,
    )
    server = grpc.aio.server(options=options, maximum_concurrent_rpcs=MAX_CONCURRENT_RPCS)
    server.add_generic_rpc_handlers(service_handlers(core, methods, authenticate=authenticate))
    health_servicer = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    services = sorted({m.service for m in methods})
    reflection.enable(
        server, [*services, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name]
    )
    return server, health_servicer


async def mark_serving(health_servicer: HealthServicer, services: Iterable[str]) -> None:
    for name in ("", *services):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
