"""The authToken of an AuthorizedUrl: a JWT (HS256, PyJWT) naming its key by `kid`.

Claims:
    iss   "nbpresign"
    aud   the notebook instance's ARN
    sub   who asked for the URL: the principal's ARN (usr: the user, akid: the access key)
    iat   issue time; exp is exactly iat + 300 (the URL is valid for 5 minutes)
    jti   a unique id, so a token can be redeemed once
    nb    the lower-cased instance name
    inc   the instance's incarnation: the URL opens that life of the instance only
    sess  the session duration in seconds
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from nbpresign.server.iam.identities import Principal
from nbpresign.server.notebooks.signing_keys import KeyRing

ISSUER = "nbpresign"
URL_LIFETIME_SECONDS = 300
ALGORITHM = "HS256"
# How far ahead of this replica's clock a token's iat may be. Replicas' clocks differ a
# little (NTP keeps them within milliseconds; a VM resumed from a snapshot may be seconds
# off), so a token minted on one slightly ahead must open on one slightly behind. Beyond
# that, the minting clock is wrong, and its tokens would outlive their 5 minutes here.
IAT_LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class UrlGrant:
    instance_arn: str
    instance_key: str
    incarnation: str
    principal: Principal
    session_seconds: int
    issued_at: int
    token_id: str

    @property
    def expires_at(self) -> int:
        return self.issued_at + URL_LIFETIME_SECONDS


def new_grant(
    *,
    instance_arn: str,
    instance_key: str,
    incarnation: str,
    principal: Principal,
    session_seconds: int,
    now: float,
) -> UrlGrant:
    return UrlGrant(
        instance_arn=instance_arn,
        instance_key=instance_key,
        incarnation=incarnation,
        principal=principal,
        session_seconds=session_seconds,
        issued_at=int(now),
        token_id=uuid.uuid4().hex,
    )


def encode(grant: UrlGrant, ring: KeyRing) -> str:
    claims = {
        "iss": ISSUER,
        "aud": grant.instance_arn,
        "sub": grant.principal.arn,
        "usr": grant.principal.user_name,
        "akid": grant.principal.access_key_id,
        "iat": grant.issued_at,
        "exp": grant.expires_at,
        "jti": grant.token_id,
        "nb": grant.instance_key,
        "inc": grant.incarnation,
        "sess": grant.session_seconds,
    }
    return jwt.encode(
        claims, ring.active_key, algorithm=ALGORITHM, headers={"kid": ring.active_kid}
    )


def kid_of(token: str) -> str | None:
    """The key id a token names, unverified: only to pick the key that verifies it."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        return None
    return kid if isinstance(kid, str) else None


class InvalidToken(Exception):
    """The token is not one this service issued for this instance, or it has expired."""


def verified_claims(
    token: str, ring: KeyRing, *, audience: str, required: list[str]
) -> dict[str, Any]:
    """The claims of a token this service signed with a key of `ring`, for `audience`.

    Raises InvalidToken. Expiry is left to the caller, against the service's clock (which
    tests move), so PyJWT's own time checks are off."""
    try:
        key = ring.keys.get(kid_of(token) or "")
        if key is None:
            raise InvalidToken("unknown signing key")
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=ISSUER,
            options={"require": required, "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    return claims


def issued_in_the_future(claims: dict[str, Any], now: float) -> bool:
    return bool(claims["iat"] > now + IAT_LEEWAY_SECONDS)


def _check_times(claims: dict[str, Any], now: float) -> None:
    if not all(type(claims[name]) is int for name in ("iat", "exp")):
        raise InvalidToken("iat and exp must be integers")
    if issued_in_the_future(claims, now):
        raise InvalidToken("issued in the future")
    if claims["exp"] - claims["iat"] != URL_LIFETIME_SECONDS:
        raise InvalidToken(f"a URL token lives exactly {URL_LIFETIME_SECONDS} s")
    if now >= claims["exp"]:
        raise InvalidToken("expired")


def decode(token: str, ring: KeyRing, *, audience: str, now: float) -> UrlGrant:
    """Verifies signature, kid, issuer, audience, issue time and expiry at `now`."""
    required = ["exp", "iat", "jti", "sub", "usr", "akid", "aud", "iss", "nb", "sess"]
    claims = verified_claims(token, ring, audience=audience, required=required)
    if "use" in claims:  # a session cookie is never a URL token
        raise InvalidToken("not a URL token")
    _check_times(claims, now)
    grant = UrlGrant(
        instance_arn=claims["aud"],
        instance_key=claims["nb"],
        incarnation=str(claims.get("inc", "")),  # "": minted before incarnations
        principal=Principal(claims["sub"], claims["usr"], claims["akid"]),
        session_seconds=int(claims["sess"]),
        issued_at=int(claims["iat"]),
        token_id=claims["jti"],
    )
    return grant
