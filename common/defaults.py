"""Defaults the client and the server agree on: addresses, region, where local files live."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"  # loopback: nothing is exposed until asked for
DEFAULT_GRPC_PORT = 50051
DEFAULT_HTTP_PORT = 8080
DEFAULT_SERVER = f"{DEFAULT_HOST}:{DEFAULT_GRPC_PORT}"  # where client commands connect
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "000000000000"

# In the data directory: the admin's key and config, as `serve` writes them on first start.
CREDENTIALS_FILE = "credentials"
CONFIG_FILE = "config"
# serve --demo: the admin's generated console password, beside CREDENTIALS_FILE (0600).
CONSOLE_PASSWORD_FILE = "console-password"  # noqa: S105 - a file name

REQUEST_ID_HEADER = "x-amzn-RequestId"  # AWS's spelling; gRPC metadata wants it lower-case


def default_data_dir() -> Path:
    """$NBPRESIGN_DATA_DIR, else $XDG_DATA_HOME/nbpresign, else ~/.local/share/nbpresign."""
    explicit = os.environ.get("NBPRESIGN_DATA_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "nbpresign"
