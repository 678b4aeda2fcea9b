"""Client interceptors that sign every call with SigV4 (see server.auth.sigv4 for the form)."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.message import Message

from nbpresign.client.credentials import SigningIdentity
from nbpresign.common.signing import sign_grpc_call

_Details = namedtuple(
    "_Details", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")
)


class _SyncDetails(_Details, grpc.ClientCallDetails):
    pass


def _method(details: Any) -> str:
    method = details.method
    return method.decode() if isinstance(method, bytes) else str(method)


def _signed(identity: SigningIdentity, details: Any, request: Message) -> list[tuple[str, str]]:
    existing = [(k, v) for k, v in (details.metadata or ())]
    return existing + sign_grpc_call(
        identity.credentials, identity.region, _method(details), request.SerializeToString()
    )


if TYPE_CHECKING:  # the stubs make these generic; at run time they are not
    _SyncBase = grpc.UnaryUnaryClientInterceptor[Message, Message]
    _AsyncBase = grpc.aio.UnaryUnaryClientInterceptor[Message, Message]
else:
    _SyncBase = grpc.UnaryUnaryClientInterceptor
    _AsyncBase = grpc.aio.UnaryUnaryClientInterceptor


class SigningInterceptor(_SyncBase):
    def __init__(self, identity: SigningIdentity) -> None:
        self._identity = identity

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: Any, request: Message
    ) -> Any:
        signed = _SyncDetails(
            details.method,
            details.timeout,
            _signed(self._identity, details, request),
            details.credentials,
            details.wait_for_ready,
            getattr(details, "compression", None),
        )
        return continuation(signed, request)


class AsyncSigningInterceptor(_AsyncBase):
    def __init__(self, identity: SigningIdentity) -> None:
        self._identity = identity

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: Any, request: Message
    ) -> Any:
        signed = grpc.aio.ClientCallDetails(
            details.method,
            details.timeout,
            grpc.aio.Metadata(*_signed(self._identity, details, request)),
            details.credentials,
            details.wait_for_ready,
        )
        return await continuation(signed, request)
