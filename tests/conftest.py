"""Fixtures that run the real service: `nbpresign serve` as a subprocess on free ports."""

from __future__ import annotations

import asyncio
import configparser
import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from grpc_health.v1 import health_pb2, health_pb2_grpc

from nbpresign.client.credentials import SigningIdentity

from databases import BACKENDS, create_database, drop_database

NBPRESIGN = [sys.executable, "-m", "nbpresign.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def identity_of(data_dir: Path) -> SigningIdentity:
    """The admin key `serve` wrote to DATA_DIR/credentials on its first start."""
    parser = configparser.ConfigParser()
    parser.read(data_dir / "credentials")
    section = parser["default"]
    return SigningIdentity(
        Credentials(section["aws_access_key_id"], section["aws_secret_access_key"]), "us-east-1"
    )


def sign_http(
    identity: SigningIdentity,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    method: str = "POST",
) -> dict[str, str]:
    """Headers with a SigV4 signature, as botocore signs for boto3."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(identity.credentials, "sagemaker", identity.region).add_auth(request)
    return dict(request.headers.items())


def raw_request(
    host: bytes,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    *,
    line: bytes = b"POST / HTTP/1.1",
) -> bytes:
    """One HTTP/1.1 request, byte for byte as given (Content-Length added)."""
    head = [line, b"Host: " + host, *(name + b": " + value for name, value in headers)]
    head.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def exchange(port: int, request: bytes, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Sends `request` on a fresh connection; the status, headers (lower-case names), body."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


@dataclass
class Server:
    process: subprocess.Popen[str]
    data_dir: Path
    grpc_port: int
    http_port: int
    db: str | None = None  # the PostgreSQL URL, when it runs on one

    @property
    def identity(self) -> SigningIdentity:
        return identity_of(self.data_dir)

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


def start_server(
    data_dir: Path, *extra: str, preexec_fn: Callable[[], None] | None = None
) -> Server:
    server = launch_server(data_dir, *extra, preexec_fn=preexec_fn)
    wait_until_serving(server.grpc_target, server.process)
    return server


def launch_server(
    data_dir: Path, *extra: str, preexec_fn: Callable[[], None] | None = None
) -> Server:
    """Starts `nbpresign serve` without waiting for it to answer; `preexec_fn` runs in the
    child before it starts (to lower its resource limits, say)."""
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
        preexec_fn=preexec_fn,
    )
    return Server(process, data_dir, grpc_port, http_port)


@dataclass
class Gateway:
    process: subprocess.Popen[str]
    endpoint: str

    def stop(self) -> str:
        self.process.terminate()
        out, _ = self.process.communicate(timeout=20)
        return out


def start_gateway(core_target: str, identity: SigningIdentity) -> Gateway:
    """`nbpresign gateway` alone, forwarding to a core over gRPC and signing with
    `identity` (given the standard way, in AWS_* variables); returns once it listens."""
    port = free_port()
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": identity.credentials.access_key,
        "AWS_SECRET_ACCESS_KEY": identity.credentials.secret_key,
    }
    process = subprocess.Popen(
        [*NBPRESIGN, "gateway", "--core", core_target, "--http-port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "AWS JSON gateway on" in line:
            return Gateway(process, f"http://127.0.0.1:{port}/")
    raise RuntimeError(f"gateway exited: {process.communicate()[0]}")


@pytest.fixture(scope="session", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One `serve` per backend for the whole session: every test that takes it runs twice."""
    with database(request.param) as db:
        extra = ("--db", db) if db else ()
        running = start_server(tmp_path_factory.mktemp("data"), *extra)
        running.db = db
        yield running
        log = running.stop()
    # No request of the whole session may have crashed a handler.
    assert "Traceback" not in log, log


@contextlib.contextmanager
def database(backend: str) -> Iterator[str | None]:
    """databases.database_for, for synchronous fixtures."""
    if backend == "sqlite":
        yield None
        return
    url = asyncio.run(create_database())
    try:
        yield url
    finally:
        asyncio.run(drop_database(url))


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    running = start_server(tmp_path / "data")
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _no_outside_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Whatever the machine has (~/.aws, AWS_* variables, a local data directory) stays out.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("NBPRESIGN_DATA_DIR", str(tmp_path / "no-local-service"))


@pytest.fixture
def as_admin(server: Server, monkeypatch: pytest.MonkeyPatch) -> Server:
    """The AWS credential chain resolves to the session server's admin key, as the README
    shows: AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE pointed at its data directory."""
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(server.data_dir / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(server.data_dir / "config"))
    return server


def unique_name(prefix: str = "nb") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def registered(server: Server) -> str:
    """A freshly registered InService instance's name."""
    from nbpresign.client import Client

    name = unique_name()
    with Client(server.grpc_target, identity=server.identity) as client:
        client.register_notebook_instance(name, "http://127.0.0.1:9/", "jupyter-secret-token")
    return name
