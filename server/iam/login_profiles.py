"""Login profiles: a user's console password, as IAM keeps it.

    hash_password("correct horse battery") -> "scrypt$16384$8$1$<salt>$<digest>"
    verify_password(that, "correct horse battery") -> True

Scrypt (memory-hard, from `cryptography`) with a random salt per password; the password
itself is never stored, logged or returned. A console session's principal carries the
profile's id in place of an access key id (PROFILE_ID_PREFIX keeps the two apart), so a
notebook URL minted from the console stands while that login profile does.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from nbpresign.common import errors
from nbpresign.common.errors import ServiceError

# Never the start of an access key id (AKIA...): check_key tells them apart by it.
PROFILE_ID_PREFIX = "LOGIN-"
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128  # IAM's
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # 16 MiB of memory per hash
DIGEST_BYTES = 32


@dataclass(frozen=True)
class LoginProfile:
    user_name: str
    profile_id: str
    password_hash: str
    reset_required: bool
    creation_time: float


def new_profile_id() -> str:
    return PROFILE_ID_PREFIX + secrets.token_hex(10).upper()


def is_profile_id(key_id: str) -> bool:
    return key_id.startswith(PROFILE_ID_PREFIX)


def password_policy_violation(password: str) -> ServiceError | None:
    """The password policy: IAM's PasswordPolicyViolation, in words, never quoting it."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return errors.PASSWORD_POLICY_VIOLATION(
            "Password does not conform to the account password policy: it must be at least "
            f"{MIN_PASSWORD_LENGTH} characters long."
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        return errors.PASSWORD_POLICY_VIOLATION(
            "Password does not conform to the account password policy: it must be at most "
            f"{MAX_PASSWORD_LENGTH} characters long."
        )
    return None


def check_password_policy(password: str) -> None:
    violation = password_policy_violation(password)
    if violation is not None:
        raise violation


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=DIGEST_BYTES, n=n, r=r, p=p).derive(password.encode())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _derive(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(stored: str, password: str) -> bool:
    scheme, n, r, p, salt, digest = stored.split("$")
    if scheme != "scrypt":
        return False
    derived = _derive(password, base64.b64decode(salt), int(n), int(r), int(p))
    return hmac.compare_digest(derived, base64.b64decode(digest))


# Verified against when the user does not exist, so the answer takes as long either way.
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
