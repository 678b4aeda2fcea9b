"""Users and their access keys."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

ACTIVE = "Active"
# AWS key ids are AKIA + 16 characters of this alphabet.
KEY_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@dataclass(frozen=True)
class User:
    name: str
    creation_time: float


@dataclass(frozen=True)
class AccessKey:
    key_id: str
    user_name: str
    sealed_secret: bytes  # encrypted at rest (iam.sealing); opened only to verify a signature
    status: str
    creation_time: float


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the user, and the key that signed the request."""

    arn: str
    user_name: str
    access_key_id: str


def user_arn(account_id: str, name: str) -> str:
    """user_arn("123456789012", "alice") -> "arn:aws:iam::123456789012:user/alice"."""
    return f"arn:aws:iam::{account_id}:user/{name}"


def new_access_key_id() -> str:
    return "AKIA" + "".join(secrets.choice(KEY_ID_ALPHABET) for _ in range(16))


def new_secret_access_key() -> str:
    return secrets.token_urlsafe(30)  # 40 characters, 240 bits
