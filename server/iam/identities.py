"""Users and their access keys."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

ACTIVE = "Active"
# AWS key ids are AKIA + 16 characters of this alphabet.
KEY_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def unique_id(prefix: str) -> str:
    """IAM's unique ids: AIDA (users) or AGPA (groups) and 17 characters, e.g.
    "AIDAJQABLZS4A3QDU576Q"; a policy names a user by it as ${aws:userid}."""
    return prefix + "".join(secrets.choice(KEY_ID_ALPHABET) for _ in range(17))


def new_user_id() -> str:
    return unique_id("AIDA")


def new_group_id() -> str:
    return unique_id("AGPA")


@dataclass(frozen=True)
class User:
    name: str
    creation_time: float
    user_id: str = field(default_factory=new_user_id)


@dataclass(frozen=True)
class Group:
    name: str
    creation_time: float
    group_id: str = field(default_factory=new_group_id)


@dataclass(frozen=True)
class Access:
    """What authorizing a user needs, read in one query: the documents of their own and
    their groups' policies, their tags, and their unique id."""

    user_id: str
    documents: tuple[str, ...]
    tags: tuple[tuple[str, str], ...]  # (key, value) as stored


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


def group_arn(account_id: str, name: str) -> str:
    """group_arn("123456789012", "ds") -> "arn:aws:iam::123456789012:group/ds"."""
    return f"arn:aws:iam::{account_id}:group/{name}"


def new_access_key_id() -> str:
    return "AKIA" + "".join(secrets.choice(KEY_ID_ALPHABET) for _ in range(16))


def new_secret_access_key() -> str:
    return secrets.token_urlsafe(30)  # 40 characters, 240 bits
