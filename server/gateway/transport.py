"""How the gateway reaches the core: in process, or over a gRPC channel.

Both verify the caller's SigV4 signature and raise ServiceError for a failed call, so
the gateway cannot tell them apart:
    InProcessTransport  Core.call directly: the same interceptors, no network hop
    GrpcTransport       a core running elsewhere: signatures are verified by its
                        GatewayService, and calls are signed with the gateway's own key,
                        forwarding the verified caller (see server.auth.grpc_auth)
"""

from __future__ import annotations

from typing import Protocol

import grpc
from botocore.credentials import Credentials
from google.protobuf.message import Message

from nbpresign.common.rpc_status import from_rpc_status, status_of
from nbpresign.common.signing import sign_grpc_call
from nbpresign.server.api.context import CallContext
from nbpresign.server.api.core import Core
from nbpresign.server.api.methods import Method, method_named
from nbpresign.server.auth import grpc_auth
from nbpresign.server.auth.authenticator import Authenticator
from nbpresign.server.auth.sigv4 import SignedRequest
from nbpresign.server.iam.identities import Principal
from nbpresign.v1 import gateway_pb2


def _utf8(text: str) -> str:
    """`text` as a proto string can carry it. aiohttp keeps header bytes that are not UTF-8
    as lone surrogates, which protobuf refuses to serialize; they become U+FFFD, which the
    core refuses just as it refuses them in process (no signed value may be non-ASCII)."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


class Transport(Protocol):
    async def authenticate(self, request: SignedRequest) -> Principal: ...

    async def call(self, method: Method, request: Message, ctx: CallContext) -> Message: ...


class InProcessTransport:
    def __init__(self, core: Core, authenticator: Authenticator) -> None:
        self._core = core
        self._authenticator = authenticator

    async def authenticate(self, request: SignedRequest) -> Principal:
        return await self._authenticator.authenticate(request)

    async def call(self, method: Method, request: Message, ctx: CallContext) -> Message:
        return await self._core.call(method, request, ctx)


class GrpcTransport:
    def __init__(self, channel: grpc.aio.Channel, credentials: Credentials, region: str) -> None:
        self._channel = channel
        self._credentials = credentials
        self._region = region

    async def authenticate(self, request: SignedRequest) -> Principal:
        message = gateway_pb2.AuthenticateRequestRequest(
            method=request.method,
            host=_utf8(request.host),
            path=_utf8(request.path),
            query=_utf8(request.query),
            headers={_utf8(k): _utf8(v) for k, v in request.headers.items()},
            body_sha256=request.body_sha256,
        )
        answer = await self._send(method_named("AuthenticateRequest"), message, {})
        assert isinstance(answer, gateway_pb2.AuthenticateRequestResponse)
        return Principal(answer.principal_arn, answer.user_name, answer.access_key_id)

    async def call(self, method: Method, request: Message, ctx: CallContext) -> Message:
        assert ctx.principal is not None  # the gateway authenticates before it calls
        forwarded = {
            grpc_auth.ON_BEHALF_OF_USER: ctx.principal.user_name,
            grpc_auth.ON_BEHALF_OF_KEY: ctx.principal.access_key_id,
            grpc_auth.FORWARDED_SOURCE_IP: ctx.source_ip,
            grpc_auth.FORWARDED_SECURE: "true" if ctx.secure_transport else "false",
        }
        return await self._send(method, request, forwarded)

    async def _send(self, method: Method, request: Message, extra: dict[str, str]) -> Message:
        body = request.SerializeToString()
        metadata = sign_grpc_call(self._credentials, self._region, method.path, body, extra)
        stub = self._channel.unary_unary(
            method.path,
            request_serializer=None,
            response_deserializer=method.output_type.FromString,
        )
        try:
            response: Message = await stub(body, metadata=metadata)
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_status(status_of(exc)) from None
        return response
