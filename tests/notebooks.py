"""Test helpers for the notebook side: a real Jupyter server, an in-process service with a
clock the test moves, and an aiohttp client that resolves *.localhost as browsers do."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from nbpresign.client.credentials import SigningIdentity
from nbpresign.server.process import service
from nbpresign.server.process.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Jupyter:
    url: str
    token: str
    root: Path
    process: subprocess.Popen[bytes]


def start_jupyter(
    root: Path, port: int | None = None, timeout: float = 60, base_url: str = "/"
) -> Jupyter:
    """A real jupyter_server (with JupyterLab's extension, when installed) on loopback."""
    port = port or free_port()
    token = secrets.token_hex(24)
    command = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.open_browser=False",
        f"--ServerApp.base_url={base_url}",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    process = subprocess.Popen(
        command,
        env={**os.environ, "JUPYTER_TOKEN": token},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}{base_url}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("jupyter_server exited")
        request = urllib.request.Request(
            url + "api/status", headers={"Authorization": f"token {token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=1) as response:
                if response.status == 200:
                    return Jupyter(url, token, root, process)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise TimeoutError("jupyter_server did not start")


def stop_jupyter(jupyter: Jupyter) -> None:
    jupyter.process.terminate()
    try:
        jupyter.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        jupyter.process.kill()


class FakeClock:
    """The service's clock, moved by the test: no test sleeps for minutes."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class LiveService:
    endpoints: service.Endpoints
    clock: FakeClock
    http_port: int
    data_dir: Path

    @property
    def identity(self) -> SigningIdentity:
        from conftest import identity_of

        return identity_of(self.data_dir)

    @property
    def grpc_target(self) -> str:
        return self.endpoints.grpc


@contextlib.asynccontextmanager
async def live_service(data_dir: Path, **settings: Any) -> AsyncIterator[LiveService]:
    """`service.run` in this event loop, on real sockets, with a FakeClock."""
    clock = FakeClock()
    ready: asyncio.Future[service.Endpoints] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()
    options = Settings(data_dir=data_dir, grpc_port=0, http_port=0, **settings)
    task = asyncio.create_task(
        service.run(options, clock=clock, on_ready=ready.set_result, stop=stop)
    )
    waiting: list[asyncio.Future[Any]] = [task, ready]
    done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # raises what stopped it
    endpoints = ready.result()
    try:
        port = int(endpoints.http.rstrip("/").rsplit(":", 1)[1])
        yield LiveService(endpoints, clock, port, data_dir)
    finally:
        stop.set()
        await task


class LoopbackResolver(AbstractResolver):
    """Resolves localhost and *.localhost to 127.0.0.1, as browsers do (RFC 6761)."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host != "localhost" and not host.endswith(".localhost"):
            raise OSError(f"only *.localhost resolves in tests, not {host}")
        return [
            ResolveResult(
                hostname=host, host="127.0.0.1", port=port, family=socket.AF_INET, proto=0, flags=0
            )
        ]

    async def close(self) -> None:
        return None


def browser_session() -> aiohttp.ClientSession:
    """An aiohttp client with its own cookie jar, reaching *.localhost on loopback."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=LoopbackResolver()),
        cookie_jar=aiohttp.CookieJar(),
    )


@contextlib.contextmanager
def jupyter_server(root: Path) -> Iterator[Jupyter]:
    jupyter = start_jupyter(root)
    try:
        yield jupyter
    finally:
        stop_jupyter(jupyter)
