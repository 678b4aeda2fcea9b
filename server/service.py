"""Assembles and runs the service: storage, core, gRPC server, gateway and notebook proxy."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import grpc
from aiohttp import web
from aiohttp.typedefs import Middleware

from nbpresign.server import demo, grpc_server, signing_keys
from nbpresign.server.clock import Clock, system_clock
from nbpresign.server.context import CallContext
from nbpresign.server.core import Core, handler_table
from nbpresign.server.gateway.app import build_app
from nbpresign.server.gateway.router import build_routes
from nbpresign.server.gateway.transport import GrpcTransport, InProcessTransport, Transport
from nbpresign.server.methods import METHODS
from nbpresign.server.presign import PresignService
from nbpresign.server.proxy.app import NotebookProxy
from nbpresign.server.registry import NotebookInstanceService
from nbpresign.server.settings import Settings
from nbpresign.server.site import Site
from nbpresign.server.storage import Storage
from nbpresign.server.storage.sqlite import SqliteStorage
from nbpresign.server.urls import UrlTemplate
from nbpresign.v1 import presign_pb2

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoints:
    grpc: str  # host:port
    http: str  # http://host:port/
    demo_url: str | None = None  # with --demo: an AuthorizedUrl for instance "demo"


def bind_http_socket(host: str, port: int) -> socket.socket:
    """Binds before anything is built, so port 0 is resolved for the URL template."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def build_core(
    storage: Storage,
    site: Site,
    keys: signing_keys.KeyRing,
    clock: Clock,
    proxy: NotebookProxy,
) -> Core:
    implementations = [
        PresignService(storage, site, lambda: keys, clock),
        NotebookInstanceService(storage, site, clock, on_revoke=proxy.revoke),
    ]
    return Core(handler_table(METHODS, implementations))


@contextlib.asynccontextmanager
async def running_http(
    transport: Transport,
    sock: socket.socket,
    settings: Settings,
    *,
    before: Sequence[Middleware] = (),
) -> AsyncIterator[None]:
    app = build_app(
        build_routes(METHODS), transport, max_body_bytes=settings.max_body_bytes, before=before
    )
    # No access log: a presigned URL's token must never reach a log file.
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def running_grpc(core: Core, host: str, port: int) -> AsyncIterator[int]:
    server, health = grpc_server.build_server(core, METHODS)
    bound = server.add_insecure_port(f"{_bracket(host)}:{port}")
    await server.start()
    try:
        await grpc_server.mark_serving(health, {m.service for m in METHODS})
        yield bound
    finally:
        await server.stop(grace=5)


async def run(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    on_ready: Callable[[Endpoints], None] = lambda e: None,
    stop: asyncio.Event | None = None,
) -> None:
    """Runs the whole service until `stop` is set, or SIGINT/SIGTERM when it is None."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    sock = bind_http_socket(settings.host, settings.http_port)
    http_port = sock.getsockname()[1]
    urls = UrlTemplate(settings.url_template, settings.region, http_port)
    site = Site(settings.region, settings.account_id, urls)
    keys = signing_keys.load_or_create(settings.data_dir)
    storage = await SqliteStorage.open(settings.data_dir)
    proxy = NotebookProxy(storage, site, lambda: keys, clock, sign_in_url=settings.sign_in_url)
    core = build_core(storage, site, keys, clock, proxy)
    try:
        async with (
            contextlib.AsyncExitStack() as stack,
            running_grpc(core, settings.host, settings.grpc_port) as grpc_port,
        ):
            await stack.enter_async_context(
                running_http(InProcessTransport(core), sock, settings, before=[proxy.middleware])
            )
            demo_url = None
            if settings.demo:
                jupyter_url, token = await stack.enter_async_context(
                    demo.demo_jupyter(settings.data_dir)
                )
                await demo.register_demo(storage, jupyter_url, token, clock())
                demo_url = await _mint_demo_url(core)
            host = _bracket(settings.host)
            on_ready(Endpoints(f"{host}:{grpc_port}", f"http://{host}:{http_port}/", demo_url))
            await _until_stopped(stop)
    finally:
        await proxy.close()
        await storage.close()


async def _mint_demo_url(core: Core) -> str:
    method = next(m for m in METHODS if m.name == "CreatePresignedNotebookInstanceUrl")
    request = presign_pb2.CreatePresignedNotebookInstanceUrlRequest(
        notebook_instance_name=demo.DEMO_NAME
    )
    response = await core.call(method, request, CallContext(source_ip="127.0.0.1"))
    assert isinstance(response, presign_pb2.CreatePresignedNotebookInstanceUrlResponse)
    return response.authorized_url


async def run_gateway(
    settings: Settings, core_target: str, *, on_ready: Callable[[Endpoints], None]
) -> None:
    """Runs only the gateway, forwarding to a core at `core_target` over gRPC."""
    sock = bind_http_socket(settings.host, settings.http_port)
    channel = grpc.aio.insecure_channel(core_target)
    async with channel, running_http(GrpcTransport(channel), sock, settings):
        port = sock.getsockname()[1]
        on_ready(Endpoints(core_target, f"http://{_bracket(settings.host)}:{port}/"))
        await _until_stopped(None)


async def _until_stopped(stop: asyncio.Event | None) -> None:
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host
