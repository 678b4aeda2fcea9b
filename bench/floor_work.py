"""The library floor: per-request work any correct presign does, and nothing of nbpresign.

A presign must check the caller's SigV4 signature and sign the URL's token. Done with the
maintained libraries the project uses (botocore's SigV4Auth, PyJWT), against a constant
secret and key held in memory (no storage, no policy, no validation, no registry), that
work alone sets how close to a bare handler a presign can get. The floor servers
(floor_grpc.py, floor_http.py) run it inside the bare handlers.

The secret comes from the environment (NBPRESIGN_BENCH_SECRET), never from argv.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
import uuid

import jwt
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SIGNING_KEY = os.urandom(32)
URL_PREFIX = "http://bench.localhost:8080/?authToken="


class _Recomputer(SigV4Auth):  # type: ignore[misc]  # botocore is untyped
    def __init__(self, credentials: Credentials, region: str, body_sha256: str) -> None:
        super().__init__(credentials, "sagemaker", region)
        self._body_sha256 = body_sha256

    def payload(self, request: object) -> str:
        return self._body_sha256


def _parts(authorization: str) -> dict[str, str]:
    _, _, rest = authorization.partition(" ")
    return dict(piece.strip().split("=", 1) for piece in rest.split(","))


def signature_ok(
    *, host: str, path: str, headers: dict[str, str], body: bytes, secret: str
) -> bool:
    """Recomputes the SigV4 signature over the signed headers, as the service does."""
    parts = _parts(headers["authorization"])
    key_id, _, region, _, _ = parts["Credential"].split("/")
    names = parts["SignedHeaders"].split(";")
    signed = {name: headers.get(name, "") for name in names}
    signed["host"] = host
    request = AWSRequest(method="POST", url=f"http://{host}{path}", headers=signed)
    request.context["timestamp"] = headers["x-amz-date"]
    signer = _Recomputer(Credentials(key_id, secret), region, hashlib.sha256(body).hexdigest())
    canonical = signer.canonical_request(request)
    expected: str = signer.signature(signer.string_to_sign(request, canonical), request)
    return hmac.compare_digest(expected.encode(), parts["Signature"].encode())


def token_url(name: str, session_seconds: int) -> str:
    """A PyJWT HS256 token with the claims an AuthorizedUrl carries."""
    now = int(time.time())
    claims = {
        "iss": "nbpresign",
        "aud": f"arn:aws:sagemaker:us-east-1:000000000000:notebook-instance/{name}",
        "sub": "arn:aws:iam::000000000000:user/bench",
        "usr": "bench",
        "akid": "AKIABENCH",
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "nb": name,
        "sess": session_seconds,
    }
    return URL_PREFIX + jwt.encode(claims, SIGNING_KEY, algorithm="HS256", headers={"kid": "k"})


def secret() -> str:
    return os.environ["NBPRESIGN_BENCH_SECRET"]
