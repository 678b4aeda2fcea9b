"""How the gateway reaches the core: in process, or over a gRPC channel.

Both raise ServiceError for a failed call, so the gateway cannot tell them apart:
    InProcessTransport  Core.call directly: the same interceptors, no network hop
    GrpcTransport       a gRPC channel to a core running elsewhere; the rich status
                        comes back as the same ServiceError (rpc_status.from_rpc_status)
"""

from __future__ import annotations

from typing import Protocol

import grpc
from google.protobuf.message import Message

from nbpresign.server.context import CallContext
from nbpresign.server.core import Core
from nbpresign.server.methods import Method
from nbpresign.server.rpc_status import from_rpc_status, status_of

REQUEST_ID_KEY = "x-amzn-requestid"


class Transport(Protocol):
    async def call(self, method: Method, request: Message, ctx: CallContext) -> Message: ...


class InProcessTransport:
    def __init__(self, core: Core) -> None:
        self._core = core

    async def call(self, method: Method, request: Message, ctx: CallContext) -> Message:
        return await self._core.call(method, request, ctx)


class GrpcTransport:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._channel = channel

    async def call(self, method: Method, request: Message, ctx: CallContext) -> Message:
        stub = self._channel.unary_unary(
            method.path,
            request_serializer=method.input_type.SerializeToString,
            response_deserializer=method.output_type.FromString,
        )
        try:
            response: Message = await stub(request, metadata=((REQUEST_ID_KEY, ctx.request_id),))
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_status(status_of(exc)) from None
        return response
