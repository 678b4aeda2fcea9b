"""GatewayService: lets a gateway running apart from the core verify SigV4 through it."""

from __future__ import annotations

from nbpresign.server.api.context import CallContext
from nbpresign.server.auth.authenticator import Authenticator
from nbpresign.server.auth.sigv4 import SignedRequest
from nbpresign.v1 import gateway_pb2 as pb


class GatewayService:
    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator

    async def AuthenticateRequest(
        self, request: pb.AuthenticateRequestRequest, ctx: CallContext
    ) -> pb.AuthenticateRequestResponse:
        principal = await self._authenticator.authenticate(
            SignedRequest(
                method=request.method,
                host=request.host,
                path=request.path,
                query=request.query,
                headers=dict(request.headers),
                body_sha256=request.body_sha256,
            )
        )
        return pb.AuthenticateRequestResponse(
            principal_arn=principal.arn,
            user_name=principal.user_name,
            access_key_id=principal.access_key_id,
        )
