"""Verifies AWS Signature Version 4, by recomputing it with botocore's SigV4Auth.

The verifier hands botocore only what the caller signed (the signed headers, the
timestamp, the region and service of the credential scope) and the body hash computed
here, never a hash the caller claims; it checks the clock skew and compares the
signatures in constant time itself.

gRPC calls are signed the same way over a fixed canonical request (nbpresign.common.signing).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from nbpresign.common import errors
from nbpresign.common.errors import ServiceError
from nbpresign.common.signing import SERVICE

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=5)
DATE_FORMAT = "%Y%m%dT%H%M%SZ"

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)

INVALID_TOKEN = "The security token included in the request is invalid."  # noqa: S105 - a message

_PART = re.compile(r"\s*(Credential|SignedHeaders|Signature)=([^,\s]*)\s*")

# What the Authorization header and a signed header's value may hold. botocore hashes the
# canonical request as UTF-8 text, clients send header values as Latin-1 bytes
# (http.client) and aiohttp reads them as UTF-8 with surrogate escapes: outside printable
# ASCII, no two of them agree on the bytes, so no such value can be verified.
_PRINTABLE = re.compile(r"[\t\x20-\x7e]*")
# RFC 3986 host [":" port]: an IP literal in brackets, or a reg-name or IPv4 address of
# unreserved characters, sub-delims and %-escapes. Nothing that would end the authority of
# the URL botocore splits ("/", "?", "#", "@"), nothing outside ASCII.
_HOST = re.compile(
    r"(?:\[(?P<literal>[0-9A-Fa-f:.]+)\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::[0-9]{0,5})?"
)


def missing_authentication() -> ServiceError:
    return errors.MISSING_AUTHENTICATION("Missing Authentication Token")


def incomplete(message: str) -> ServiceError:
    return errors.INCOMPLETE_SIGNATURE(message)


def invalid(message: str) -> ServiceError:
    return errors.INVALID_SIGNATURE(message)


def unrecognized_client() -> ServiceError:
    return errors.UNRECOGNIZED_CLIENT(INVALID_TOKEN)


@dataclass(frozen=True)
class SignedRequest:
    """What a signature covers. Header names are lower-case; repeated headers joined by ','."""

    method: str
    host: str
    path: str  # as sent, percent-encoded
    query: str  # as sent, without "?"
    headers: Mapping[str, str]
    body_sha256: str  # hex, computed by the server from the bytes it received


@dataclass(frozen=True)
class Authorization:
    key_id: str
    date: str  # YYYYMMDD
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str | None) -> Authorization:
    if not value:
        raise missing_authentication()
    if not _PRINTABLE.fullmatch(value):
        raise incomplete("The Authorization header must hold printable ASCII characters only.")
    algorithm, _, rest = value.partition(" ")
    if algorithm != ALGORITHM:
        raise incomplete(f"Unsupported authorization type: {algorithm or 'none'}; use {ALGORITHM}.")
    parts: dict[str, str] = {}
    for piece in rest.split(","):
        found = _PART.fullmatch(piece)
        if found:
            parts[found.group(1)] = found.group(2)
    missing = [
        f"Authorization header requires '{p}' parameter."
        for p in ("Credential", "Signature", "SignedHeaders")
        if not parts.get(p)
    ]
    if missing:
        raise incomplete(" ".join(missing))
    scope = parts["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise incomplete(
            "Credential must have exactly 5 slash-delimited elements, "
            "e.g. keyid/date/region/service/term."
        )
    return Authorization(
        key_id=scope[0],
        date=scope[1],
        region=scope[2],
        service=scope[3],
        signed_headers=tuple(parts["SignedHeaders"].split(";")),
        signature=parts["Signature"],
    )


def check_scope(auth: Authorization, request: SignedRequest, *, region: str, now: datetime) -> str:
    """Checks everything but the signature itself; returns the request's X-Amz-Date."""
    amz_date = request.headers.get("x-amz-date")
    if not amz_date:
        raise incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    try:
        signed_at = _parse_amz_date(amz_date)
    except ValueError:
        raise incomplete(f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'.") from None
    if "host" not in auth.signed_headers or "x-amz-date" not in auth.signed_headers:
        raise invalid("'Host' and 'X-Amz-Date' must be SignedHeaders in the AWS Authorization.")
    if auth.service != SERVICE:
        raise invalid(f"Credential should be scoped to correct service: '{SERVICE}'.")
    if auth.region != region:
        raise invalid(f"Credential should be scoped to a valid region, not '{auth.region}'.")
    if auth.date != amz_date[:8]:
        raise invalid(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{auth.date}' != '{amz_date[:8]}', from '{amz_date}'."
        )
    _check_skew(signed_at, amz_date, now)
    _check_signable(auth, request)
    claimed = request.headers.get("x-amz-content-sha256")
    if claimed is not None and claimed != request.body_sha256:
        raise invalid(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        )
    return amz_date


def _parse_amz_date(value: str) -> datetime:
    """ "20261122T010203Z" -> that instant; strptime did the same at ten times the cost."""
    if len(value) != 16 or value[8] != "T" or value[15] != "Z":
        raise ValueError(value)
    return datetime(
        int(value[0:4]), int(value[4:6]), int(value[6:8]),
        int(value[9:11]), int(value[11:13]), int(value[13:15]), tzinfo=UTC,
    )  # fmt: skip


def signed_host(request: SignedRequest) -> str:
    """The host the signature covers: the Host header (HTTP/1.0 may send none)."""
    return request.headers.get("host", request.host)


def is_valid_host(host: str) -> bool:
    """is_valid_host("127.0.0.1:8080") and ("[::1]:80"); not "[", "a b", "a/b" nor "h\xe9"."""
    found = _HOST.fullmatch(host)
    if found is None:
        return False
    literal = found.group("literal")
    if literal is not None:
        try:
            ipaddress.IPv6Address(literal)
        except ValueError:
            return False
    return True


def _check_signable(auth: Authorization, request: SignedRequest) -> None:
    """Refuses what no canonical request can be built from (botocore would raise on it)."""
    if not is_valid_host(signed_host(request)):
        raise invalid("The Host header must be a host name or address, and optionally a port.")
    if not request.path.startswith("/") or not _PRINTABLE.fullmatch(request.path + request.query):
        raise invalid("The request path must start with '/' and hold printable ASCII only.")
    for name in auth.signed_headers:
        if not _PRINTABLE.fullmatch(request.headers.get(name, "")):
            raise invalid(
                f"The value of the signed header '{name}' must hold printable ASCII "
                "characters only."
            )


def _check_skew(signed_at: datetime, amz_date: str, now: datetime) -> None:
    now_text = now.strftime(DATE_FORMAT)
    if signed_at < now - MAX_SKEW:
        earliest = (now - MAX_SKEW).strftime(DATE_FORMAT)
        raise invalid(
            f"Signature expired: {amz_date} is now earlier than {earliest} ({now_text} - 5 min.)"
        )
    if signed_at > now + MAX_SKEW:
        latest = (now + MAX_SKEW).strftime(DATE_FORMAT)
        raise invalid(
            f"Signature not yet current: {amz_date} is still later than {latest} "
            f"({now_text} + 5 min.)"
        )


class _Recomputer(SigV4Auth):  # type: ignore[misc]  # botocore is untyped
    """SigV4Auth whose payload hash is the one the server computed."""

    def __init__(self, credentials: Credentials, region: str, body_sha256: str) -> None:
        super().__init__(credentials, SERVICE, region)
        self._body_sha256 = body_sha256

    def payload(self, request: Any) -> str:
        return self._body_sha256


def expected_signature(
    auth: Authorization, request: SignedRequest, secret: str, amz_date: str
) -> str:
    """The signature `secret` gives this request, over exactly the headers the caller signed."""
    signed = {name: request.headers.get(name, "") for name in auth.signed_headers}
    host = signed["host"] = signed_host(request)
    url = f"http://{host}{request.path}" + (f"?{request.query}" if request.query else "")
    aws_request = AWSRequest(method=request.method, url=url, headers=signed)
    aws_request.context["timestamp"] = amz_date
    signer = _Recomputer(Credentials(auth.key_id, secret), auth.region, request.body_sha256)
    canonical = signer.canonical_request(aws_request)
    signature: str = signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)
    return signature


def signatures_match(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def sha256_hex(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
