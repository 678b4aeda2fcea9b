"""Test helpers for the notebook side: a real Jupyter server, an in-process service with a
clock the test moves, and an aiohttp client that resolves *.localhost as browsers do."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import html
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from nbpresign.client import AsyncClient
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
    root: Path,
    port: int | None = None,
    timeout: float = 60,
    base_url: str = "/",
    token: str | None = None,
) -> Jupyter:
    """A real jupyter_server (with JupyterLab's extension, when installed) on loopback."""
    port = port or free_port()
    token = token or secrets.token_hex(24)
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


# Jupyter tokens as operators make them: every alphabet the proxy must keep from browsers.
TOKEN_ALPHABETS = {
    "hex": lambda: secrets.token_hex(24),
    # Standard base64 always has "=" padding here, and "+" and "/" are forced in.
    "base64": lambda: "+/" + base64.b64encode(secrets.token_bytes(31)).decode(),
    "urlsafe": lambda: "-_" + base64.urlsafe_b64encode(secrets.token_bytes(30)).decode(),
    "markup": lambda: "<a>&'\"" + secrets.token_hex(12) + "\"'&<b>",
}


def _lower_escapes(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), text)


def written_forms(token: str) -> dict[str, str]:
    """How encoders in the wild write a token: none may reach a browser. Written here
    with the standard library, apart from the proxy's own code."""
    quoted, slash_kept = urllib.parse.quote(token, safe=""), urllib.parse.quote(token)
    forms = {
        "raw": token,
        "percent": quoted,
        "percent lower-case": _lower_escapes(quoted),
        "percent, / kept": slash_kept,  # what Jupyter writes into data-jupyter-api-token
        "percent, / kept, lower-case": _lower_escapes(slash_kept),
        "form": urllib.parse.quote_plus(token),
        "percent twice": urllib.parse.quote(quoted, safe=""),
        "json": json.dumps(token)[1:-1],
        "json, \\u for all but letters and digits": "".join(
            c if c.isalnum() else f"\\u{ord(c):04x}" for c in token
        ),
        "json, \\u upper-case": "".join(c if c.isalnum() else f"\\u{ord(c):04X}" for c in token),
        "json, </ written <\\/": json.dumps(token)[1:-1].replace("/", "\\/"),
        "html": html.escape(token),  # &lt; &gt; &amp; &quot; &#x27;
        "html, markupsafe's": "".join(
            {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"}.get(c, c)
            for c in token
        ),
        "html, named": "".join(
            {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}.get(c, c)
            for c in token
        ),
        "html, numeric": "".join(c if c.isalnum() else f"&#{ord(c)};" for c in token),
        "html, hex": "".join(c if c.isalnum() else f"&#x{ord(c):x};" for c in token),
    }
    return forms


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


# What end-to-end tests do with a live service and a browser session.


async def register(live: LiveService, jupyter_url: str, token: str, name: str | None = None) -> str:
    name = name or f"nb-{uuid.uuid4().hex[:8]}"
    async with AsyncClient(live.grpc_target, identity=live.identity) as client:
        await client.register_notebook_instance(name, jupyter_url, token)
    return name


async def mint(live: LiveService, name: str, duration: int | None = None) -> str:
    async with AsyncClient(live.grpc_target, identity=live.identity) as client:
        return await client.create_presigned_notebook_instance_url(name, duration)


def origin(live: LiveService, name: str) -> str:
    return f"http://{name}.localhost:{live.http_port}"


async def redeem(session: aiohttp.ClientSession, url: str) -> aiohttp.ClientResponse:
    async with session.get(url, allow_redirects=False) as response:
        return response


async def start_kernel(browser: aiohttp.ClientSession, base: str) -> str:
    async with browser.post(
        f"{base}/api/kernels", json={"name": "python3"}, headers={"Origin": base}
    ) as started:
        assert started.status == 201, await started.text()
        kernel_id: str = (await started.json())["id"]
        return kernel_id


def execute_request(code: str, session_id: str) -> dict[str, Any]:
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "username": "test",
            "session": session_id,
            "msg_type": "execute_request",
            "version": "5.3",
            "date": datetime.now(UTC).isoformat(),
        },
        "parent_header": {},
        "metadata": {},
        "content": {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
        },
        "channel": "shell",
        "buffers": [],
    }


# Debian's chromium, as Playwright drives it here (it never downloads a browser).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # runs as root here
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def jupyter_server(root: Path) -> Iterator[Jupyter]:
    jupyter = start_jupyter(root)
    try:
        yield jupyter
    finally:
        stop_jupyter(jupyter)


def from_address(address: str) -> aiohttp.ClientSession:
    """A client whose connections come from `address`, resolving *.localhost as browsers do."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(local_addr=(address, 0), resolver=LoopbackResolver()),
        cookie_jar=aiohttp.CookieJar(),
    )


async def call(
    live: LiveService,
    identity: SigningIdentity,
    operation: str,
    body: dict[str, Any],
    *,
    address: str,
    forwarded_for: str | None = None,
    forwarded_proto: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """A signed AWS JSON call to the live service, from a real source address."""
    from conftest import sign_http

    endpoint = f"http://127.0.0.1:{live.http_port}/"
    raw = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"SageMaker.{operation}",
    }
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    if forwarded_proto:
        headers["X-Forwarded-Proto"] = forwarded_proto
    async with (
        from_address(address) as session,
        session.post(
            endpoint, data=raw, headers=sign_http(identity, endpoint, raw, headers)
        ) as response,
    ):
        return response.status, await response.json(content_type=None)


def sign_in_reason(response: aiohttp.ClientResponse) -> str | None:
    """Why a refused notebook request was sent to the console's sign-in page, or None."""
    location = response.headers.get("Location", "")
    if response.status != 302 or urllib.parse.urlsplit(location).path != "/_nbpresign/sign-in":
        return None
    return urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["reason"][0]
