"""The command line: `nbpresign` client commands, and the AWS CLI against the gateway."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from conftest import NBPRESIGN, Server, unique_name


def nbpresign(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NBPRESIGN_SERVER": server.grpc_target}
    return subprocess.run([*NBPRESIGN, *args], capture_output=True, text=True, env=env, timeout=60)


def aws(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    command = shutil.which("aws", path=os.path.dirname(sys.executable)) or "aws"
    return subprocess.run(
        [command, "--endpoint-url", server.endpoint, "--output", "json", "sagemaker", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_instances_commands(as_admin: Server) -> None:
    server = as_admin
    name = unique_name("cli")
    registered = nbpresign(
        server,
        "instances",
        "register",
        name,
        "--jupyter-url",
        "http://127.0.0.1:8888/",
        "--jupyter-token",
        "cli-secret",
    )
    assert registered.returncode == 0, registered.stderr
    assert json.loads(registered.stdout)["NotebookInstanceArn"].endswith(f"/{name}")
    described = json.loads(nbpresign(server, "instances", "describe", name).stdout)
    assert described["NotebookInstanceStatus"] == "InService"
    assert isinstance(described["CreationTime"], float)
    listed = json.loads(nbpresign(server, "instances", "list", "--name-contains", name).stdout)
    assert [i["NotebookInstanceName"] for i in listed["NotebookInstances"]] == [name]
    url = nbpresign(server, "url", name, "--duration", "1800")
    assert url.returncode == 0
    assert urlsplit(url.stdout.strip()).hostname == f"{name}.localhost"
    assert nbpresign(server, "instances", "stop", name).returncode == 0
    refused = nbpresign(server, "url", name)
    assert refused.returncode == 1
    assert "ValidationException" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert nbpresign(server, "instances", "start", name).returncode == 0
    assert nbpresign(server, "instances", "stop", name).returncode == 0
    assert nbpresign(server, "instances", "delete", name).returncode == 0
    gone = nbpresign(server, "instances", "describe", name)
    assert (gone.returncode, gone.stderr.strip()) == (
        1,
        "An error occurred (ValidationException): RecordNotFound",
    )
    for output in (registered.stdout, described, listed):
        assert "cli-secret" not in json.dumps(output)


def test_url_command_reports_validation_errors(as_admin: Server) -> None:
    server = as_admin
    result = nbpresign(server, "url", "a_b", "--duration", "99")
    assert result.returncode == 1
    assert "2 validation errors detected" in result.stderr


def test_aws_cli(as_admin: Server, registered: str) -> None:
    server = as_admin
    result = aws(
        server,
        "create-presigned-notebook-instance-url",
        "--notebook-instance-name",
        registered,
        "--session-expiration-duration-in-seconds",
        "1800",
    )
    assert result.returncode == 0, result.stderr
    assert "?authToken=" in json.loads(result.stdout)["AuthorizedUrl"]
    described = json.loads(
        aws(server, "describe-notebook-instance", "--notebook-instance-name", registered).stdout
    )
    assert described["NotebookInstanceName"] == registered


@pytest.mark.parametrize(
    ("name", "expected"),
    [("bad_name", "failed to satisfy constraint"), ("absent-instance", "RecordNotFound")],
)
def test_aws_cli_errors(as_admin: Server, name: str, expected: str) -> None:
    server = as_admin
    result = aws(server, "create-presigned-notebook-instance-url", "--notebook-instance-name", name)
    assert result.returncode != 0
    assert "(ValidationException)" in result.stderr
    assert expected in result.stderr
