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


def build_server(
    core: Core,
    methods: Iterable[Method],
    *,
    authenticate: CallAuthenticator,
    reuse_port: bool = False,
) -> tuple[grpc.aio.Server, HealthServicer]:
    methods = tuple(methods)
    # gRPC sets SO_REUSEPORT by default; off unless --workers asks, so that a second
    # `serve` on a taken port fails loudly instead of sharing it.
    server = grpc.aio.server(options=[("grpc.so_reuseport", 1 if reuse_port else 0)])
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
