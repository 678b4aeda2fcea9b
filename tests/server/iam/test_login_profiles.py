from __future__ import annotations

import pytest

from nbpresign.common.errors import ServiceError
from nbpresign.server.iam.login_profiles import (
    check_password_policy,
    hash_password,
    is_profile_id,
    new_profile_id,
    verify_password,
)


def test_a_hash_verifies_its_password_only() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$")
    assert "correct horse battery" not in stored
    assert verify_password(stored, "correct horse battery")
    assert not verify_password(stored, "correct horse batterz")
    assert hash_password("correct horse battery") != stored  # salted


@pytest.mark.parametrize("password", ["", "eleven char", "x" * 129])
def test_the_policy_refuses_without_quoting(password: str) -> None:
    with pytest.raises(ServiceError) as refused:
        check_password_policy(password)
    assert refused.value.code.aws == "PasswordPolicyViolation"
    assert password not in refused.value.message or not password


def test_profile_ids_never_look_like_access_keys() -> None:
    profile_id = new_profile_id()
    assert is_profile_id(profile_id)
    assert not profile_id.startswith("AKIA")
    assert not is_profile_id("AKIAABCDEFGHIJKLMNOP")
