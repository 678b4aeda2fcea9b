"""Fixtures that run the real service: `nbpresign serve` as a subprocess on free ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

NBPRESIGN = [sys.executable, "-m", "nbpresign.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[str]
    data_dir: Path
    grpc_port: int
    http_port: int

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def stop(self) -> str:
        """Stops with SIGTERM, as a service manager would; returns what it logged."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=20)
        return out


def wait_until_serving(target: str, process: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {process.communicate()[0]}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                time.sleep(0.1)
    raise TimeoutError(f"server at {target} did not become healthy")


def start_server(data_dir: Path, *extra: str) -> Server:
    grpc_port, http_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            *NBPRESIGN,
            "serve",
            "--data-dir",
            str(data_dir),
            "--grpc-port",
            str(grpc_port),
            "--http-port",
            str(http_port),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_until_serving(f"127.0.0.1:{grpc_port}", process)
    return Server(process, data_dir, grpc_port, http_port)


@dataclass
class Gateway:
    process: subprocess.Popen[str]
    endpoint: str

    def stop(self) -> str:
        self.process.terminate()
        out, _ = self.process.communicate(timeout=20)
        return out


def start_gateway(core_target: str) -> Gateway:
    """`nbpresign gateway` alone, forwarding to a core over gRPC; returns once it listens."""
    port = free_port()
    process = subprocess.Popen(
        [*NBPRESIGN, "gateway", "--core", core_target, "--http-port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "AWS JSON gateway on" in line:
            return Gateway(process, f"http://127.0.0.1:{port}/")
    raise RuntimeError(f"gateway exited: {process.communicate()[0]}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("data"))
    yield running
    log = running.stop()
    # No request of the whole session may have crashed a handler.
    assert "Traceback" not in log, log


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    running = start_server(tmp_path / "data")
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore signs every request; no authentication exists yet, any key will do.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


def unique_name(prefix: str = "nb") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def registered(server: Server) -> str:
    """A freshly registered InService instance's name."""
    from nbpresign.client import Client

    name = unique_name()
    with Client(server.grpc_target) as client:
        client.register_notebook_instance(name, "http://127.0.0.1:9/", "jupyter-secret-token")
    return name
