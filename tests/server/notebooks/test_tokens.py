from __future__ import annotations

import jwt
import pytest

from nbpresign.server.iam.identities import Principal
from nbpresign.server.notebooks import signing_keys, tokens

ARN = "arn:aws:sagemaker:us-east-1:000000000000:notebook-instance/nb"


def grant(now: float = 1_000_000.0) -> tokens.UrlGrant:
    return tokens.new_grant(
        instance_arn=ARN,
        instance_key="nb",
        incarnation="i1",
        principal=Principal("arn:aws:iam::000000000000:user/u", "u", "AKIAX"),
        session_seconds=1800,
        now=now,
    )


def test_round_trip() -> None:
    ring = signing_keys.new_key_ring()
    original = grant()
    token = tokens.encode(original, ring)
    assert jwt.get_unverified_header(token) == {
        "alg": "HS256",
        "kid": ring.active_kid,
        "typ": "JWT",
    }
    assert tokens.decode(token, ring, audience=ARN, now=1_000_000.0 + 299) == original


def test_expires_exactly_five_minutes_after_issue() -> None:
    ring = signing_keys.new_key_ring()
    token = tokens.encode(grant(), ring)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 300
    with pytest.raises(tokens.InvalidToken):
        tokens.decode(token, ring, audience=ARN, now=1_000_000.0 + 300)


def test_other_instance_is_refused() -> None:
    ring = signing_keys.new_key_ring()
    token = tokens.encode(grant(), ring)
    with pytest.raises(tokens.InvalidToken):
        tokens.decode(token, ring, audience=ARN + "2", now=1_000_000.0)


def test_tampered_token_is_refused() -> None:
    ring = signing_keys.new_key_ring()
    header, payload, signature = tokens.encode(grant(), ring).split(".")
    forged_payload = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b'"sess":1800', b'"sess":9999')
    ).decode()
    with pytest.raises(tokens.InvalidToken):
        tokens.decode(f"{header}.{forged_payload}.{signature}", ring, audience=ARN, now=1_000_000.0)


def test_token_from_another_key_is_refused() -> None:
    token = tokens.encode(grant(), signing_keys.new_key_ring())
    with pytest.raises(tokens.InvalidToken):
        tokens.decode(token, signing_keys.new_key_ring(), audience=ARN, now=1_000_000.0)


def test_rotation_keeps_old_tokens_valid() -> None:
    ring = signing_keys.new_key_ring()
    old = tokens.encode(grant(), ring)
    newer = signing_keys.new_key_ring()
    rotated = signing_keys.KeyRing(newer.active_kid, {**ring.keys, **newer.keys})
    new = tokens.encode(grant(), rotated)
    assert jwt.get_unverified_header(new)["kid"] != jwt.get_unverified_header(old)["kid"]
    for token in (old, new):
        assert tokens.decode(token, rotated, audience=ARN, now=1_000_000.0).instance_key == "nb"


def test_unsigned_token_is_refused() -> None:
    ring = signing_keys.new_key_ring()
    claims = jwt.decode(tokens.encode(grant(), ring), options={"verify_signature": False})
    unsigned = jwt.encode(claims, "", algorithm="none", headers={"kid": ring.active_kid})
    with pytest.raises(tokens.InvalidToken):
        tokens.decode(unsigned, ring, audience=ARN, now=1_000_000.0)


def test_the_token_names_the_incarnation_it_was_minted_for() -> None:
    ring = signing_keys.new_key_ring()
    decoded = tokens.decode(tokens.encode(grant(), ring), ring, audience=ARN, now=1_000_001.0)
    assert decoded.incarnation == "i1"


def signed_claims(ring: signing_keys.KeyRing, **changed: object) -> str:
    """A token the service's own key signed, with some claims changed: what a replica whose
    clock is wrong (or a bug) would issue."""
    claims = jwt.decode(tokens.encode(grant(), ring), options={"verify_signature": False})
    claims.update(changed)
    return jwt.encode(claims, ring.active_key, algorithm="HS256", headers={"kid": ring.active_kid})


@pytest.mark.parametrize(
    ("iat", "accepted"),
    [
        (1_000_000 + tokens.IAT_LEEWAY_SECONDS, True),
        (1_000_000 + tokens.IAT_LEEWAY_SECONDS + 1, False),
        (1_000_000 + 3600, False),
    ],
)
def test_a_token_issued_in_the_future_is_refused_beyond_the_leeway(
    iat: int, accepted: bool
) -> None:
    ring = signing_keys.new_key_ring()
    token = signed_claims(ring, iat=iat, exp=iat + 300)
    if accepted:
        assert tokens.decode(token, ring, audience=ARN, now=1_000_000.0).issued_at == iat
    else:
        with pytest.raises(tokens.InvalidToken, match="issued in the future"):
            tokens.decode(token, ring, audience=ARN, now=1_000_000.0)


@pytest.mark.parametrize(
    "changed",
    [
        {"exp": 1_000_000 + 301},
        {"exp": 1_000_000 + 299},
        {"exp": 1_000_000 + 86_400},
        {"iat": 1_000_000.5, "exp": 1_000_300.5},
        {"iat": "1000000"},
    ],
)
def test_only_a_five_minute_token_of_integer_times_is_accepted(changed: dict[str, object]) -> None:
    ring = signing_keys.new_key_ring()
    with pytest.raises(tokens.InvalidToken):
        tokens.decode(signed_claims(ring, **changed), ring, audience=ARN, now=1_000_000.0)
