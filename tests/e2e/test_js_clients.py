"""Clients nobody here wrote, in another language, against the real service (tests/js/):
the AWS SDK for JavaScript v3 over AWS JSON, and grpc-js with @smithy/signature-v4 over gRPC.

The npm packages are pinned in tests/js/package-lock.json and installed by `npm ci`
(.ci/run and scripts/check run it); without them these tests fail, they do not skip.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import google.api.annotations_pb2
import grpc_tools
import pytest

from nbpresign.client import Client

from conftest import Server, unique_name

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "tests" / "js"
PAGED = 5


def node(script: str, server: Server, **extra: str) -> str:
    if not (JS / "node_modules").is_dir():
        pytest.fail(f"{JS / 'node_modules'} is missing: run `npm ci --prefix tests/js`")
    credentials = server.identity.credentials
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_ACCESS_KEY_ID": credentials.access_key,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
        "AWS_REGION": server.identity.region,
        "NBPRESIGN_ENDPOINT": server.endpoint,
        "NBPRESIGN_GRPC": server.grpc_target,
        **extra,
    }
    result = subprocess.run(
        ["node", str(JS / script)],
        capture_output=True,
        text=True,
        env=env,
        cwd=JS,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "FAILED" not in output
    return output


def register(server: Server, *names: str) -> None:
    with Client(server.grpc_target, identity=server.identity) as client:
        for name in names:
            client.register_notebook_instance(name, "http://127.0.0.1:9/", "jupyter-token")


def test_aws_sdk_for_javascript(server: Server, registered: str) -> None:
    prefix = unique_name("js")
    register(server, *(f"{prefix}-{i}" for i in range(PAGED)))
    output = node("sdk.mjs", server, NB_NAME=registered, NB_PREFIX=prefix, NB_COUNT=str(PAGED))
    for check in ("presign", "describe", "paginate", "emptyPage", "validationError"):
        assert f"ok {check}\n" in output, output


def test_grpc_js_with_smithy_signature_v4(server: Server, registered: str) -> None:
    include = [
        ROOT / "protos",
        Path(google.api.annotations_pb2.__file__).parents[2],  # google/api, google/rpc
        Path(grpc_tools.__file__).parent / "_proto",  # google/protobuf
    ]
    output = node(
        "grpc.mjs", server, NB_NAME=registered, PROTO_PATH=":".join(str(p) for p in include)
    )
    for check in ("presign", "notFound", "validationError", "unsigned"):
        assert f"ok {check}\n" in output, output
