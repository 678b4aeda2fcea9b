"""The browser's session with one notebook: a signed cookie (a JWT, PyJWT, HS256).

Redeeming an AuthorizedUrl starts a session that lasts exactly the duration the URL
was minted with. The cookie names the instance (aud: its ARN, "#session" appended, so
a URL token can never pass for a session and back), the principal who minted the URL,
and its end. It holds nothing secret; its signature is what makes it trustworthy.
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from nbpresign.server.iam.identities import Principal
from nbpresign.server.notebooks.signing_keys import KeyRing
from nbpresign.server.notebooks.tokens import (
    ALGORITHM,
    ISSUER,
    InvalidToken,
    UrlGrant,
    issued_in_the_future,
    verified_claims,
)

COOKIE_NAME = "nbpresign-session"
SESSION_USE = "session"


@dataclass(frozen=True)
class Session:
    instance_arn: str
    instance_key: str
    incarnation: str  # the instance's life it belongs to (notebooks.instance)
    principal: Principal
    started_at: int
    expires_at: int
    grant_id: str  # the jti of the URL token it was redeemed from


def start(grant: UrlGrant, now: float) -> Session:
    started = int(now)
    return Session(
        instance_arn=grant.instance_arn,
        instance_key=grant.instance_key,
        incarnation=grant.incarnation,
        principal=grant.principal,
        started_at=started,
        expires_at=started + grant.session_seconds,
        grant_id=grant.token_id,
    )


def encode(session: Session, ring: KeyRing) -> str:
    claims = {
        "iss": ISSUER,
        "use": SESSION_USE,
        "aud": f"{session.instance_arn}#session",
        "sub": session.principal.arn,
        "usr": session.principal.user_name,
        "akid": session.principal.access_key_id,
        "nb": session.instance_key,
        "inc": session.incarnation,
        "iat": session.started_at,
        "exp": session.expires_at,
        "jti": session.grant_id,
    }
    return jwt.encode(
        claims, ring.active_key, algorithm=ALGORITHM, headers={"kid": ring.active_kid}
    )


def decode(cookie: str, ring: KeyRing, *, instance_arn: str, now: float) -> Session | None:
    """The session if the cookie is genuine, for this instance, started (give or take the
    clocks' leeway) and not over at `now`."""
    required = ["exp", "iat", "jti", "sub", "usr", "akid", "nb", "use"]
    try:
        claims = verified_claims(
            cookie, ring, audience=f"{instance_arn}#session", required=required
        )
    except InvalidToken:
        return None
    if claims["use"] != SESSION_USE or not all(type(claims[n]) is int for n in ("iat", "exp")):
        return None
    if issued_in_the_future(claims, now) or now >= claims["exp"]:
        return None
    return Session(
        instance_arn=instance_arn,
        instance_key=claims["nb"],
        incarnation=str(claims.get("inc", "")),
        principal=Principal(claims["sub"], claims["usr"], claims["akid"]),
        started_at=int(claims["iat"]),
        expires_at=int(claims["exp"]),
        grant_id=claims["jti"],
    )
