"""First start: an admin user with a key, written where boto3 and the AWS CLI look.

    DATA_DIR/credentials   [default] aws_access_key_id / aws_secret_access_key (mode 0600)
    DATA_DIR/console-password   with --demo: the admin's console password (mode 0600)
    DATA_DIR/config        [default] region, and the endpoint of this service for
                           "sagemaker" (botocore's services sections), rewritten at every
                           start so it follows --http-port

With AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE pointed there, boto3 and the AWS
CLI reach this service as the admin with no further options.
"""

from __future__ import annotations

import configparser
import io
import json
import os
import secrets
from pathlib import Path

from nbpresign.common.defaults import CONFIG_FILE, CONSOLE_PASSWORD_FILE, CREDENTIALS_FILE
from nbpresign.server.api.clock import Clock
from nbpresign.server.iam.identities import (
    ACTIVE,
    AccessKey,
    User,
    new_access_key_id,
    new_secret_access_key,
)
from nbpresign.server.iam.login_profiles import LoginProfile, hash_password, new_profile_id
from nbpresign.server.iam.sealing import SecretBox
from nbpresign.server.storage import DuplicateLoginProfile, DuplicateUser, Storage

ADMIN_USER = "admin"
ADMIN_POLICY_NAME = "AdministratorAccess"
ADMIN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _ini(sections: dict[str, dict[str, str]]) -> str:
    parser = configparser.ConfigParser()
    parser.read_dict(sections)
    out = io.StringIO()
    parser.write(out)
    return out.getvalue()


async def ensure_admin(storage: Storage, box: SecretBox, data_dir: Path, clock: Clock) -> bool:
    """Creates the admin and its credentials file when there is no user yet; True if it did."""
    if await storage.list_users():
        return False
    try:
        await storage.add_user(User(ADMIN_USER, clock()))
    except DuplicateUser:
        return False  # another replica got there first
    secret = new_secret_access_key()
    key = AccessKey(new_access_key_id(), ADMIN_USER, box.seal(secret), ACTIVE, clock())
    await storage.add_access_key(key)
    await storage.put_user_policy(ADMIN_USER, ADMIN_POLICY_NAME, json.dumps(ADMIN_POLICY))
    _write_private(
        data_dir / CREDENTIALS_FILE,
        _ini({"default": {"aws_access_key_id": key.key_id, "aws_secret_access_key": secret}}),
    )
    return True


async def ensure_admin_password(storage: Storage, data_dir: Path, clock: Clock) -> str | None:
    """For the demo: gives the admin a console password when it has none, written to
    DATA_DIR/console-password (mode 0600); the new password, or None if there was one."""
    if await storage.get_login_profile(ADMIN_USER) is not None:
        return None
    if await storage.get_user(ADMIN_USER) is None:
        return None
    password = secrets.token_urlsafe(15)  # 20 characters, 120 bits
    profile = LoginProfile(ADMIN_USER, new_profile_id(), hash_password(password), False, clock())
    try:
        await storage.add_login_profile(profile)
    except DuplicateLoginProfile:
        return None  # another replica got there first
    _write_private(data_dir / CONSOLE_PASSWORD_FILE, password + "\n")
    return password


def write_config(data_dir: Path, *, region: str, endpoint_url: str) -> None:
    text = (
        f"[default]\nregion = {region}\nservices = nbpresign\n\n"
        f"[services nbpresign]\nsagemaker =\n  endpoint_url = {endpoint_url}\n"
    )
    _write_private(data_dir / CONFIG_FILE, text)
