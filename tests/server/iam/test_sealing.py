from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from nbpresign.server.iam.sealing import SealError, SecretBox


def test_derived_keys_are_per_master_key_and_per_purpose() -> None:
    master = Fernet.generate_key()
    key = SecretBox(master).derive_key("pagination")
    assert len(key) == 32
    assert SecretBox(master).derive_key("pagination") == key  # every replica derives it
    assert SecretBox(master).derive_key("other") != key
    assert SecretBox(Fernet.generate_key()).derive_key("pagination") != key


def test_a_secret_opens_only_under_its_master_key() -> None:
    sealed = SecretBox(Fernet.generate_key()).seal("s3cr3t")
    with pytest.raises(SealError):
        SecretBox(Fernet.generate_key()).open(sealed)
