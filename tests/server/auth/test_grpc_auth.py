"""Which caller a gRPC call is, and when a forwarded caller is believed.

The call context is a small stand-in with the two things the authenticator reads from
grpc's (metadata, peer); tests/e2e/test_auth_clients.py runs the same over real gRPC."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import Credentials
from cryptography.fernet import Fernet

from nbpresign.common import errors
from nbpresign.common.errors import ServiceError
from nbpresign.common.signing import sign_grpc_call
from nbpresign.server.api.authorization import Authorizer
from nbpresign.server.api.methods import method_named
from nbpresign.server.auth import grpc_auth
from nbpresign.server.auth.authenticator import Authenticator
from nbpresign.server.auth.grpc_auth import GrpcCallAuthenticator, source_ip_of
from nbpresign.server.iam.identities import ACTIVE, AccessKey, User
from nbpresign.server.iam.sealing import SecretBox
from nbpresign.server.storage.opening import open_storage

GATEWAY = Credentials("AKIAGATEWAY", "gateway-secret-gateway-secret-gateway-se")
OTHER = Credentials("AKIAOTHER", "other-secret-other-secret-other-secret-o")
PRESIGN = method_named("CreatePresignedNotebookInstanceUrl")
BODY = b"\n\x02nb"


class CallContext:
    def __init__(self, metadata: list[tuple[str, str]], peer: str = "ipv4:127.0.0.1:5555") -> None:
        self._metadata = metadata
        self._peer = peer

    def invocation_metadata(self) -> list[tuple[str, str]]:
        return self._metadata

    def peer(self) -> str:
        return self._peer


@pytest.fixture
async def authenticate(tmp_path: Path) -> AsyncIterator[GrpcCallAuthenticator]:
    storage = await open_storage(None, tmp_path)
    box = SecretBox(Fernet.generate_key())
    for user, creds in (("gateway", GATEWAY), ("other", OTHER)):
        await storage.add_user(User(user, 0.0))
        await storage.add_access_key(
            AccessKey(creds.access_key, user, box.seal(creds.secret_key), ACTIVE, 0.0)
        )
    forward = {"Effect": "Allow", "Action": "nbpresign:ForwardCaller", "Resource": "*"}
    await storage.put_user_policy("gateway", "fwd", json.dumps({"Statement": [forward]}))
    clock = time.time  # botocore signs with the real clock
    authenticator = Authenticator(storage, box, region="us-east-1", account_id="1", clock=clock)
    yield GrpcCallAuthenticator(authenticator, Authorizer(storage, clock), account_id="1")
    await storage.close()


def signed(creds: Credentials, extra: dict[str, str] | None = None) -> list[tuple[str, str]]:
    return sign_grpc_call(creds, "us-east-1", PRESIGN.path, BODY, extra)


FORWARD = {
    grpc_auth.ON_BEHALF_OF_USER: "alice",
    grpc_auth.ON_BEHALF_OF_KEY: "AKIAALICE",
    grpc_auth.FORWARDED_SOURCE_IP: "198.51.100.7",
    grpc_auth.FORWARDED_SECURE: "true",
}


async def test_a_signed_call_is_its_signer_from_the_peer(authenticate: Any) -> None:
    ctx = await authenticate(CallContext(signed(OTHER)), PRESIGN, BODY)
    assert ctx.principal.user_name == "other"
    assert ctx.source_ip == "127.0.0.1"


async def test_a_gateway_allowed_to_forward_names_the_caller(authenticate: Any) -> None:
    ctx = await authenticate(CallContext(signed(GATEWAY, FORWARD)), PRESIGN, BODY)
    assert (ctx.principal.user_name, ctx.principal.access_key_id) == ("alice", "AKIAALICE")
    assert (ctx.source_ip, ctx.secure_transport) == ("198.51.100.7", True)


async def test_anyone_else_forwarding_is_refused(authenticate: Any) -> None:
    with pytest.raises(ServiceError) as caught:
        await authenticate(CallContext(signed(OTHER, FORWARD)), PRESIGN, BODY)
    assert caught.value.code is errors.ACCESS_DENIED


async def test_forwarded_metadata_outside_the_signature_is_refused(authenticate: Any) -> None:
    metadata = [*signed(GATEWAY), (grpc_auth.FORWARDED_SOURCE_IP, "198.51.100.7")]
    with pytest.raises(ServiceError) as caught:
        await authenticate(CallContext(metadata), PRESIGN, BODY)
    assert caught.value.code is errors.INVALID_SIGNATURE


async def test_a_forward_missing_its_parts_is_refused(authenticate: Any) -> None:
    partial = {grpc_auth.ON_BEHALF_OF_USER: "alice"}
    with pytest.raises(ServiceError) as caught:
        await authenticate(CallContext(signed(GATEWAY, partial)), PRESIGN, BODY)
    assert caught.value.code is errors.INCOMPLETE_SIGNATURE


async def test_the_body_is_covered(authenticate: Any) -> None:
    with pytest.raises(ServiceError) as caught:
        await authenticate(CallContext(signed(OTHER)), PRESIGN, BODY + b"x")
    assert caught.value.code is errors.INVALID_SIGNATURE


@pytest.mark.parametrize(
    ("peer", "ip"),
    [("ipv4:127.0.0.1:5000", "127.0.0.1"), ("ipv6:[::1]:5000", "::1"), ("unix:/run/x", "/run/x")],
)
def test_source_ip_of(peer: str, ip: str) -> None:
    assert source_ip_of(peer) == ip
