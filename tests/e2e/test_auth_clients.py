"""Real signatures from boto3 and the AWS CLI against the running service."""

from __future__ import annotations

import asyncio
import configparser
import datetime
import json
import os
import shutil
import stat
import subprocess
import sys
from typing import Any

import boto3
import botocore.auth
import botocore.exceptions
import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from nbpresign.client import Client
from nbpresign.v1 import notebook_instances_pb2 as nb
from nbpresign.v1 import notebook_instances_pb2_grpc as nb_grpc

from conftest import Server

MISMATCH = "The request signature we calculated does not match the signature you provided."


def sagemaker(server: Server, key_id: str, secret: str) -> Any:
    return boto3.client(
        "sagemaker",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )


def error_of(call: Any) -> dict[str, Any]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    response: dict[str, Any] = caught.value.response
    return response


def test_a_good_key(server: Server, registered: str) -> None:
    creds = server.identity.credentials
    client = sagemaker(server, creds.access_key, creds.secret_key)
    assert (
        client.describe_notebook_instance(NotebookInstanceName=registered)["NotebookInstanceName"]
        == registered
    )


def test_an_unknown_key(server: Server, registered: str) -> None:
    client = sagemaker(server, "AKIAUNKNOWNUNKNOWN00", "whatever")
    response = error_of(lambda: client.describe_notebook_instance(NotebookInstanceName=registered))
    assert response["Error"] == {
        "Code": "UnrecognizedClientException",
        "Message": "The security token included in the request is invalid.",
    }


def test_a_wrong_secret(server: Server, registered: str) -> None:
    client = sagemaker(server, server.identity.credentials.access_key, "not-the-secret")
    response = error_of(lambda: client.describe_notebook_instance(NotebookInstanceName=registered))
    assert response["Error"]["Code"] == "InvalidSignatureException"
    assert response["Error"]["Message"].startswith(MISMATCH)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_skewed_clock(server: Server, registered: str, monkeypatch: pytest.MonkeyPatch) -> None:
    skewed = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=15)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: skewed)
    creds = server.identity.credentials
    client = sagemaker(server, creds.access_key, creds.secret_key)
    client.meta.config.retries = {"max_attempts": 0}
    response = error_of(lambda: client.describe_notebook_instance(NotebookInstanceName=registered))
    assert response["Error"]["Code"] == "InvalidSignatureException"
    assert response["Error"]["Message"].startswith(
        f"Signature expired: {skewed:%Y%m%dT%H%M%SZ} is now earlier than "
    )


def test_no_signature_at_all(server: Server, registered: str) -> None:
    client = boto3.client(
        "sagemaker",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        config=botocore.config.Config(signature_version=botocore.UNSIGNED),
    )
    response = error_of(lambda: client.describe_notebook_instance(NotebookInstanceName=registered))
    assert response["Error"] == {
        "Code": "MissingAuthenticationToken",
        "Message": "Missing Authentication Token",
    }
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403


def aws(server: Server, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = shutil.which("aws", path=os.path.dirname(sys.executable)) or "aws"
    return subprocess.run(
        [command, "--endpoint-url", server.endpoint, "--region", "us-east-1", "sagemaker", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


@pytest.mark.parametrize(
    ("which", "expected"),
    [
        ("good", None),
        ("unknown", "(UnrecognizedClientException)"),
        ("wrong-secret", "(InvalidSignatureException)"),
        ("unsigned", "(MissingAuthenticationToken)"),
    ],
)
def test_the_aws_cli(server: Server, registered: str, which: str, expected: str | None) -> None:
    creds = server.identity.credentials
    keys = {
        "good": (creds.access_key, creds.secret_key),
        "unknown": ("AKIAUNKNOWNUNKNOWN00", "x"),
        "wrong-secret": (creds.access_key, "x"),
        "unsigned": (creds.access_key, creds.secret_key),
    }[which]
    extra = ["--no-sign-request"] if which == "unsigned" else []
    result = aws(
        server,
        {"AWS_ACCESS_KEY_ID": keys[0], "AWS_SECRET_ACCESS_KEY": keys[1]},
        "describe-notebook-instance",
        "--notebook-instance-name",
        registered,
        *extra,
    )
    if expected is None:
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["NotebookInstanceName"] == registered
    else:
        assert result.returncode != 0
        assert expected in result.stderr


def test_the_aws_cli_from_the_files_serve_wrote(server: Server, registered: str) -> None:
    # No --endpoint-url, no keys: AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE alone.
    command = shutil.which("aws", path=os.path.dirname(sys.executable)) or "aws"
    result = subprocess.run(
        [
            command,
            "sagemaker",
            "describe-notebook-instance",
            "--notebook-instance-name",
            registered,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "AWS_SHARED_CREDENTIALS_FILE": str(server.data_dir / "credentials"),
            "AWS_CONFIG_FILE": str(server.data_dir / "config"),
        },
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["NotebookInstanceName"] == registered


def test_the_admin_files_are_private_and_complete(server: Server) -> None:
    # master.key: SQLite's; with PostgreSQL and no NBPRESIGN_MASTER_KEY it is in the database.
    for name in ("credentials", "config", *(() if server.db else ("master.key",))):
        path = server.data_dir / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
    parser = configparser.ConfigParser()
    parser.read(server.data_dir / "credentials")
    assert parser["default"]["aws_access_key_id"].startswith("AKIA")
    config = (server.data_dir / "config").read_text()
    assert "region = us-east-1" in config
    assert f"endpoint_url = {server.endpoint}" in config


def test_secrets_are_sealed_in_the_database(server: Server) -> None:
    secret = server.identity.credentials.secret_key
    if server.db:
        import asyncpg

        async def sealed() -> list[bytes]:
            connection = await asyncpg.connect(server.db)
            try:
                return [
                    bytes(r[0])
                    for r in await connection.fetch("SELECT sealed_secret FROM access_keys")
                ]
            finally:
                await connection.close()

        stored = asyncio.run(sealed())
        assert stored
        assert all(secret.encode() not in s for s in stored)
        return
    database = (server.data_dir / "nbpresign.sqlite3").read_bytes()
    wal = server.data_dir / "nbpresign.sqlite3-wal"
    assert secret.encode() not in database
    assert not wal.exists() or secret.encode() not in wal.read_bytes()


def test_an_unsigned_grpc_call_is_unauthenticated(server: Server) -> None:
    with grpc.insecure_channel(server.grpc_target) as channel:
        stub = nb_grpc.NotebookInstanceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.ListNotebookInstances(nb.ListNotebookInstancesRequest())
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert caught.value.details() == "Missing Authentication Token"


def test_a_grpc_call_with_a_replaced_body_is_refused(server: Server) -> None:
    from nbpresign.common.signing import sign_grpc_call

    path = "/nbpresign.v1.NotebookInstanceService/DescribeNotebookInstance"
    signed_for = nb.DescribeNotebookInstanceRequest(notebook_instance_name="a").SerializeToString()
    metadata = sign_grpc_call(server.identity.credentials, "us-east-1", path, signed_for)
    with grpc.insecure_channel(server.grpc_target) as channel:
        stub = nb_grpc.NotebookInstanceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.DescribeNotebookInstance(
                nb.DescribeNotebookInstanceRequest(notebook_instance_name="b"),
                metadata=tuple(metadata),
            )
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    status = rpc_status.from_call(caught.value)  # type: ignore[arg-type]
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert info.reason == "InvalidSignatureException"


def test_keys_create_prints_the_aws_cli_shape(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import NBPRESIGN, unique_name

    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(server.data_dir / "credentials"))
    user = unique_name("keyed")
    env = {**os.environ, "NBPRESIGN_SERVER": server.grpc_target}
    created = subprocess.run(
        [*NBPRESIGN, "users", "create", user], capture_output=True, text=True, env=env, timeout=60
    )
    assert created.returncode == 0, created.stderr
    result = subprocess.run(
        [*NBPRESIGN, "keys", "create", user], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    key = json.loads(result.stdout)["AccessKey"]
    assert set(key) == {"UserName", "AccessKeyId", "SecretAccessKey", "Status", "CreateDate"}
    assert (key["UserName"], key["Status"]) == (user, "Active")
    datetime.datetime.fromisoformat(key["CreateDate"].replace("Z", "+00:00"))
    listed = subprocess.run(
        [*NBPRESIGN, "keys", "list", user], capture_output=True, text=True, env=env, timeout=60
    )
    assert key["AccessKeyId"] in listed.stdout
    assert key["SecretAccessKey"] not in listed.stdout  # shown once only
    with Client(server.grpc_target, identity=server.identity) as client:
        client.delete_user(user)


def test_policies_attach_list_detach_from_the_cli(server: Server, tmp_path: Any) -> None:
    from conftest import NBPRESIGN, unique_name

    env = {
        **os.environ,
        "NBPRESIGN_SERVER": server.grpc_target,
        "AWS_SHARED_CREDENTIALS_FILE": str(server.data_dir / "credentials"),
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*NBPRESIGN, *args], capture_output=True, text=True, env=env, timeout=60
        )

    user = unique_name("pol")
    assert cli("users", "create", user).returncode == 0
    good = tmp_path / "ip-filter.json"
    good.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sagemaker:*",
                        "Resource": "*",
                        "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}},
                    }
                ],
            }
        )
    )
    assert cli("policies", "attach", user, "--document", str(good)).returncode == 0
    listed = json.loads(cli("policies", "list", user).stdout)
    assert [p["PolicyName"] for p in listed["Policies"]] == ["ip-filter"]
    assert (
        listed["Policies"][0]["PolicyDocument"]["Statement"][0]["Condition"]["IpAddress"][
            "aws:SourceIp"
        ]
        == "127.0.0.0/8"
    )
    bad = tmp_path / "bad.json"
    bad.write_text('{"Statement": [{"Effect": "Allow", "Action": "sagemaker:*"}]}')
    refused = cli("policies", "attach", user, "--document", str(bad))
    assert refused.returncode == 1
    assert "(MalformedPolicyDocument)" in refused.stderr
    assert "Statement[0]: needs exactly one of Resource and NotResource" in refused.stderr
    assert cli("policies", "detach", user, "ip-filter").returncode == 0
    assert json.loads(cli("policies", "list", user).stdout) == {"Policies": []}
    missing = cli("policies", "detach", user, "ip-filter")
    assert (missing.returncode, "(NoSuchEntity)" in missing.stderr) == (1, True)
    assert cli("users", "delete", user).returncode == 0
