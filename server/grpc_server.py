"""The gRPC transport: every RPC in METHODS, plus health and reflection.

Errors leave here and only here: a ServiceError becomes its rich status; anything
else is logged with its traceback and becomes INTERNAL "InternalFailure".
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer  # public as health.aio; the stubs miss it
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status

from nbpresign.server.context import CallContext
from nbpresign.server.core import Core
from nbpresign.server.errors import ServiceError, internal_failure
from nbpresign.server.methods import Method
from nbpresign.server.rpc_status import to_rpc_status

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-amzn-requestid"

GrpcHandler = Callable[[Message, grpc.aio.ServicerContext[Message, Message]], Awaitable[Message]]


def source_ip_of(peer: str) -> str:
    """source_ip_of("ipv4:127.0.0.1:5000") -> "127.0.0.1"; ("ipv6:[::1]:5000") -> "::1"."""
    kind, _, address = peer.partition(":")
    if kind == "ipv4":
        return address.rpartition(":")[0]
    if kind == "ipv6":
        return address.rpartition(":")[0].strip("[]")
    return address  # unix sockets and the like: the path stands for the peer


def default_context_factory(context: grpc.aio.ServicerContext[Message, Message]) -> CallContext:
    """The caller of a gRPC call: the TCP peer; anonymous until authentication exists."""
    return CallContext(source_ip=source_ip_of(context.peer()))


def _handler(
    core: Core, method: Method, context_factory: Callable[..., CallContext]
) -> GrpcHandler:
    async def handle(
        request: Message, context: grpc.aio.ServicerContext[Message, Message]
    ) -> Message:
        ctx = context_factory(context)
        await context.send_initial_metadata(((REQUEST_ID_HEADER, ctx.request_id),))
        try:
            return await core.call(method, request, ctx)
        except ServiceError as error:
            failure = error
        except Exception:
            log.exception("request %s to %s failed", ctx.request_id, method.path)
            failure = internal_failure()
        status = rpc_status.to_status(to_rpc_status(failure))
        await context.abort(status.code, status.details, status.trailing_metadata)

    return handle


def service_handlers(
    core: Core,
    methods: Iterable[Method],
    *,
    context_factory: Callable[..., CallContext] = default_context_factory,
) -> list[grpc.GenericRpcHandler[Any, Any]]:
    by_service: dict[str, dict[str, grpc.RpcMethodHandler[Any, Any]]] = {}
    for method in methods:
        by_service.setdefault(method.service, {})[method.name] = (
            grpc.unary_unary_rpc_method_handler(
                _handler(core, method, context_factory),
                request_deserializer=method.input_type.FromString,
                response_serializer=method.output_type.SerializeToString,
            )
        )
    return [grpc.method_handlers_generic_handler(s, h) for s, h in by_service.items()]


def build_server(core: Core, methods: Iterable[Method]) -> tuple[grpc.aio.Server, HealthServicer]:
    methods = tuple(methods)
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(service_handlers(core, methods))
    health_servicer = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    services = sorted({m.service for m in methods})
    reflection.enable_server_reflection(
        [
            *services,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ],
        server,
    )
    return server, health_servicer


async def mark_serving(health_servicer: HealthServicer, services: Iterable[str]) -> None:
    for name in ("", *services):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
