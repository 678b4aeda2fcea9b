"""Authenticates gRPC calls: a SigV4 signature in the metadata over the request bytes.

A gateway running apart from the core forwards its caller: it signs its own call and
adds x-nbpresign-on-behalf-of-user/-key and x-nbpresign-source-ip to the signed
metadata. The core believes them only if the signature covers them and the gateway's
own principal is allowed "nbpresign:ForwardCaller"; no other caller can name a
principal or a source address.
"""

from __future__ import annotations

from collections.abc import Mapping

import grpc
from google.protobuf.message import Message

from nbpresign.common.signing import GRPC_HOST
from nbpresign.server.api.authorization import Authorizer
from nbpresign.server.api.context import CallContext
from nbpresign.server.api.methods import Method
from nbpresign.server.auth import sigv4
from nbpresign.server.auth.authenticator import Authenticator
from nbpresign.server.iam.identities import Principal, user_arn

ON_BEHALF_OF_USER = "x-nbpresign-on-behalf-of-user"
ON_BEHALF_OF_KEY = "x-nbpresign-on-behalf-of-key"
FORWARDED_SOURCE_IP = "x-nbpresign-source-ip"
FORWARDED_SECURE = "x-nbpresign-secure-transport"
FORWARDED = (ON_BEHALF_OF_USER, ON_BEHALF_OF_KEY, FORWARDED_SOURCE_IP, FORWARDED_SECURE)
FORWARD_ACTION = "nbpresign:ForwardCaller"


def source_ip_of(peer: str) -> str:
    """source_ip_of("ipv4:127.0.0.1:5000") -> "127.0.0.1"; ("ipv6:[::1]:5000") -> "::1"."""
    kind, _, address = peer.partition(":")
    if kind == "ipv4":
        return address.rpartition(":")[0]
    if kind == "ipv6":
        return address.rpartition(":")[0].strip("[]")
    return address  # unix sockets and the like: the path stands for the peer


def metadata_of(context: grpc.aio.ServicerContext[bytes, Message]) -> dict[str, str]:
    found: dict[str, list[str]] = {}
    for key, value in context.invocation_metadata() or ():
        if isinstance(value, str):
            found.setdefault(key.lower(), []).append(value)
    return {key: ",".join(values) for key, values in found.items()}


class GrpcCallAuthenticator:
    def __init__(
        self, authenticator: Authenticator, authorizer: Authorizer, *, account_id: str
    ) -> None:
        self._authenticator = authenticator
        self._authorizer = authorizer
        self._account_id = account_id

    async def __call__(
        self, context: grpc.aio.ServicerContext[bytes, Message], method: Method, body: bytes
    ) -> CallContext:
        metadata = metadata_of(context)
        signed = sigv4.SignedRequest(
            method="POST",
            host=GRPC_HOST,
            path=method.path,
            query="",
            headers={**metadata, "host": GRPC_HOST},
            body_sha256=sigv4.sha256_hex(body),
        )
        principal = await self._authenticator.authenticate(signed)
        ctx = CallContext(source_ip=source_ip_of(context.peer()), principal=principal)
        if not any(name in metadata for name in FORWARDED):
            return ctx
        return await self._forwarded(ctx, principal, metadata)

    async def _forwarded(
        self, ctx: CallContext, gateway: Principal, metadata: Mapping[str, str]
    ) -> CallContext:
        signed_names = sigv4.parse_authorization(metadata.get("authorization")).signed_headers
        if not all(name in signed_names for name in FORWARDED if name in metadata):
            raise sigv4.invalid("Forwarded caller metadata must be signed.")
        await self._authorizer.check(gateway, FORWARD_ACTION, "*", ctx)
        user, key = metadata.get(ON_BEHALF_OF_USER, ""), metadata.get(ON_BEHALF_OF_KEY, "")
        source_ip = metadata.get(FORWARDED_SOURCE_IP, "")
        if not user or not key or not source_ip:
            raise sigv4.incomplete(f"Forwarding a caller takes {', '.join(FORWARDED[:3])}.")
        return CallContext(
            source_ip=source_ip,
            principal=Principal(user_arn(self._account_id, user), user, key),
            secure_transport=metadata.get(FORWARDED_SECURE) == "true",
        )
