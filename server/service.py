"""Assembles and runs the service: storage, core, gRPC server and gateway, in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import grpc
from aiohttp import web

from nbpresign.server import grpc_server, signing_keys
from nbpresign.server.clock import Clock, system_clock
from nbpresign.server.core import Core, handler_table
from nbpresign.server.gateway.app import build_app
from nbpresign.server.gateway.router import build_routes
from nbpresign.server.gateway.transport import GrpcTransport, InProcessTransport, Transport
from nbpresign.server.methods import METHODS
from nbpresign.server.presign import PresignService
from nbpresign.server.registry import NotebookInstanceService
from nbpresign.server.settings import Settings
from nbpresign.server.site import Site
from nbpresign.server.storage.sqlite import SqliteStorage
from nbpresign.server.urls import UrlTemplate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoints:
    grpc: str  # host:port
    http: str  # http://host:port/


def bind_http_socket(host: str, port: int) -> socket.socket:
    """Binds before anything is built, so port 0 is resolved for the URL template."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def build_core(
    storage: SqliteStorage, site: Site, keys: signing_keys.KeyRing, clock: Clock
) -> Core:
    implementations = [
        PresignService(storage, site, lambda: keys, clock),
        NotebookInstanceService(storage, site, clock),
    ]
    return Core(handler_table(METHODS, implementations))


@contextlib.asynccontextmanager
async def running_gateway(
    transport: Transport, sock: socket.socket, settings: Settings
) -> AsyncIterator[None]:
    app = build_app(build_routes(METHODS), transport, max_body_bytes=settings.max_body_bytes)
    # No access log: a presigned URL's token must never reach a log file.
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield
    finally:
        await runner.cleanup()


async def run(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    on_ready: Callable[[Endpoints], None] = lambda e: None,
) -> None:
    """Runs the whole service until SIGINT or SIGTERM."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    sock = bind_http_socket(settings.host, settings.http_port)
    http_port = sock.getsockname()[1]
    site = Site(
        settings.region,
        settings.account_id,
        UrlTemplate(settings.url_template, settings.region, http_port),
    )
    storage = await SqliteStorage.open(settings.data_dir)
    core = build_core(storage, site, signing_keys.load_or_create(settings.data_dir), clock)
    server, health = grpc_server.build_server(core, METHODS)
    grpc_port = server.add_insecure_port(f"{_bracket(settings.host)}:{settings.grpc_port}")
    await server.start()
    try:
        await grpc_server.mark_serving(health, {m.service for m in METHODS})
        async with running_gateway(InProcessTransport(core), sock, settings):
            on_ready(
                Endpoints(
                    f"{_bracket(settings.host)}:{grpc_port}",
                    f"http://{_bracket(settings.host)}:{http_port}/",
                )
            )
            await _until_signalled()
    finally:
        await server.stop(grace=5)
        await storage.close()


async def run_gateway(
    settings: Settings, core_target: str, *, on_ready: Callable[[Endpoints], None]
) -> None:
    """Runs only the gateway, forwarding to a core at `core_target` over gRPC."""
    sock = bind_http_socket(settings.host, settings.http_port)
    channel = grpc.aio.insecure_channel(core_target)
    async with channel, running_gateway(GrpcTransport(channel), sock, settings):
        port = sock.getsockname()[1]
        on_ready(Endpoints(core_target, f"http://{_bracket(settings.host)}:{port}/"))
        await _until_signalled()


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host
