from __future__ import annotations

import pytest

from nbpresign.server.iam.identities import Principal
from nbpresign.server.notebooks import sessions, signing_keys, tokens

ARN = "arn:aws:sagemaker:us-east-1:000000000000:notebook-instance/nb"
START = 1_000_000


def cookie(ring: signing_keys.KeyRing, started_at: int = START) -> str:
    grant = tokens.new_grant(
        instance_arn=ARN,
        instance_key="nb",
        incarnation="i1",
        principal=Principal("arn:aws:iam::000000000000:user/u", "u", "AKIAX"),
        session_seconds=1800,
        now=started_at,
    )
    return sessions.encode(sessions.start(grant, started_at), ring)


def test_a_session_lasts_its_duration() -> None:
    ring = signing_keys.new_key_ring()
    value = cookie(ring)
    session = sessions.decode(value, ring, instance_arn=ARN, now=START + 1799)
    assert session is not None
    assert (session.started_at, session.expires_at) == (START, START + 1800)
    assert sessions.decode(value, ring, instance_arn=ARN, now=START + 1800) is None


@pytest.mark.parametrize(
    ("ahead", "valid"),
    [(tokens.IAT_LEEWAY_SECONDS, True), (tokens.IAT_LEEWAY_SECONDS + 1, False), (600, False)],
)
def test_a_session_started_in_the_future_is_refused_beyond_the_leeway(
    ahead: int, valid: bool
) -> None:
    ring = signing_keys.new_key_ring()
    value = cookie(ring, started_at=START + ahead)
    assert (sessions.decode(value, ring, instance_arn=ARN, now=START) is not None) == valid


def test_a_url_token_is_never_a_session_and_back() -> None:
    ring = signing_keys.new_key_ring()
    value = cookie(ring)
    with pytest.raises(tokens.InvalidToken):
        tokens.decode(value, ring, audience=f"{ARN}#session", now=START)
