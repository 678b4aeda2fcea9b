"""The service as a whole: restarts, a gateway in front of a remote core, shutdown."""

from __future__ import annotations

import json
import socket
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from nbpresign.client import Client

from conftest import (
    NBPRESIGN,
    Server,
    free_port,
    sign_http,
    start_gateway,
    start_server,
    unique_name,
)
from notebooks import browser_session


async def test_data_survives_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = start_server(data)
    name = unique_name("persist")
    try:
        with Client(first.grpc_target, identity=first.identity) as client:
            client.register_notebook_instance(name, "http://127.0.0.1:9/", "t")
            client.register_notebook_instance(f"{name}-off", "http://127.0.0.1:9/", "t")
            url = client.create_presigned_notebook_instance_url(name)
            client.stop_notebook_instance(f"{name}-off")
    finally:
        assert "Traceback" not in first.stop()
    second = start_server(data)
    try:
        with Client(second.grpc_target, identity=second.identity) as client:
            described = client.describe_notebook_instance(f"{name}-off")
            assert described.notebook_instance_status == "Stopped"
        # A URL minted before the restart still opens: the signing key was kept.
        moved = url.replace(f":{first.http_port}/", f":{second.http_port}/")
        async with (
            browser_session() as browser,
            browser.get(moved, allow_redirects=False) as redeemed,
        ):
            assert redeemed.status == 303
    finally:
        second.stop()


def test_data_dir_files_are_private(fresh_server: Server) -> None:
    for path in fresh_server.data_dir.iterdir():
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    assert stat.S_IMODE(fresh_server.data_dir.stat().st_mode) & 0o077 == 0


def test_sigterm_stops_cleanly(fresh_server: Server) -> None:
    log = fresh_server.stop()
    assert fresh_server.process.returncode == 0
    assert "Traceback" not in log


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                *NBPRESIGN,
                "serve",
                "--data-dir",
                str(tmp_path),
                "--http-port",
                str(port),
                "--grpc-port",
                str(free_port()),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert "cannot start" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def remote_gateway(server: Server) -> Iterator[str]:
    gateway = start_gateway(server.grpc_target, server.identity)
    yield gateway.endpoint
    assert "Traceback" not in gateway.stop()


async def test_remote_gateway_answers_exactly_like_the_in_process_one(
    server: Server, remote_gateway: str, registered: str
) -> None:
    cases = [
        {"NotebookInstanceName": "a_b", "SessionExpirationDurationInSeconds": 5},
        {"NotebookInstanceName": unique_name("missing")},
        {"NotebookInstanceName": "x", "SessionExpirationDurationInSeconds": "1800"},
    ]
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "SageMaker.CreatePresignedNotebookInstanceUrl",
    }
    async with aiohttp.ClientSession() as session:
        for case in cases:
            answers = []
            for endpoint in (server.endpoint + "/", remote_gateway):
                async with session.post(
                    endpoint, data=json.dumps(case), headers=headers
                ) as response:
                    answers.append((response.status, await response.json(content_type=None)))
            assert answers[0] == answers[1], case
        async with session.post(
            remote_gateway,
            data=json.dumps({"NotebookInstanceName": registered}).encode(),
            headers=sign_http(
                server.identity,
                remote_gateway,
                json.dumps({"NotebookInstanceName": registered}).encode(),
                headers,
            ),
        ) as ok:
            assert ok.status == 200
            assert (await ok.json(content_type=None))["AuthorizedUrl"].startswith(
                f"http://{registered}.localhost"
            )


async def test_remote_gateway_without_a_core_is_service_unavailable(server: Server) -> None:
    gateway = start_gateway(f"127.0.0.1:{free_port()}", server.identity)
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                gateway.endpoint,
                data=b'{"NotebookInstanceName": "x"}',
                headers=sign_http(
                    server.identity,
                    gateway.endpoint,
                    b'{"NotebookInstanceName": "x"}',
                    {
                        "Content-Type": "application/x-amz-json-1.1",
                        "X-Amz-Target": "SageMaker.DescribeNotebookInstance",
                    },
                ),
            ) as response,
        ):
            assert response.status == 503
            assert (await response.json(content_type=None))["__type"] == "ServiceUnavailable"
    finally:
        assert "Traceback" not in gateway.stop()
