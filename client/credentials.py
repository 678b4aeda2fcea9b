"""Credentials for signing calls: the standard AWS chain, then the local service's admin key.

botocore's chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, the shared
credentials file at AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, ...) comes first.
When it finds nothing, the admin key that `nbpresign serve` wrote to its data directory
(NBPRESIGN_DATA_DIR, else ~/.local/share/nbpresign) is used, so on the machine that runs
the service the CLI works with no setup.
"""

from __future__ import annotations

from dataclasses import dataclass

import botocore.session
from botocore.credentials import Credentials

from nbpresign.common.defaults import CREDENTIALS_FILE, DEFAULT_REGION, default_data_dir


class NoCredentialsError(Exception):
    """Neither the AWS credential chain nor the local data directory has a key."""


@dataclass(frozen=True)
class SigningIdentity:
    credentials: Credentials
    region: str


def resolve(profile: str | None = None, region: str | None = None) -> SigningIdentity:
    session = botocore.session.Session(profile=profile)
    credentials = session.get_credentials()
    if credentials is None:
        local = default_data_dir() / CREDENTIALS_FILE
        if local.exists():
            session = botocore.session.Session(profile=profile)
            session.set_config_variable("credentials_file", str(local))
            credentials = session.get_credentials()
    if credentials is None:
        raise NoCredentialsError(
            "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "or point AWS_SHARED_CREDENTIALS_FILE at the service's DATA_DIR/credentials"
        )
    chosen = region or session.get_config_variable("region") or DEFAULT_REGION
    return SigningIdentity(credentials, chosen)
