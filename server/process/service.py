"""Runs the service: storage, the parts, the gRPC and HTTP listeners, until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import grpc
from botocore.credentials import Credentials

from nbpresign.server.api.clock import Clock, system_clock
from nbpresign.server.api.context import CallContext
from nbpresign.server.api.core import Core
from nbpresign.server.api.methods import method_named
from nbpresign.server.gateway.transport import GrpcTransport, InProcessTransport
from nbpresign.server.iam import bootstrap
from nbpresign.server.iam.identities import Principal, user_arn
from nbpresign.server.notebooks.site import Site
from nbpresign.server.notebooks.urls import UrlTemplate
from nbpresign.server.process import demo
from nbpresign.server.process.assembly import api_handler, build_parts, front, prepare
from nbpresign.server.process.limits import Limits, raise_open_file_limit
from nbpresign.server.process.listeners import (
    bind_http_socket,
    bracket,
    loopback_if_any,
    running_grpc,
    running_http,
)
from nbpresign.server.process.settings import Settings
from nbpresign.server.storage import Storage
from nbpresign.server.storage.opening import open_storage
from nbpresign.v1 import presign_pb2

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoints:
    grpc: str  # host:port
    http: str  # http://host:port/
    demo_url: str | None = None  # with --demo: an AuthorizedUrl for instance "demo"


async def run(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    on_ready: Callable[[Endpoints], None] = lambda e: None,
    stop: asyncio.Event | None = None,
) -> None:
    """Runs the whole service until `stop` is set, or SIGINT/SIGTERM when it is None."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    max_connections = connection_limit(settings.limits)
    sock = bind_http_socket(settings.host, settings.http_port, reuse_port=settings.reuse_port)
    http_port = sock.getsockname()[1]
    urls = UrlTemplate(settings.url_template, settings.region, http_port)
    site = Site(settings.region, settings.account_id, urls)
    storage = await open_storage(settings.db, settings.data_dir)
    box, keys = await prepare(settings, storage, clock)
    parts = build_parts(storage, site, keys, box, clock, settings)
    parts.proxy.start()
    refreshing = asyncio.ensure_future(keys.refresh_forever())
    try:
        host = bracket(loopback_if_any(settings.host))
        endpoint = f"http://{host}:{http_port}"
        bootstrap.write_config(settings.data_dir, region=settings.region, endpoint_url=endpoint)
        async with (
            contextlib.AsyncExitStack() as stack,
            running_grpc(
                parts,
                settings.host,
                settings.grpc_port,
                settings.account_id,
                limits=settings.limits,
                max_connections=max_connections,
                reuse_port=settings.reuse_port,
            ) as grpc_listener,
        ):
            api = api_handler(InProcessTransport(parts.core, parts.authenticator), settings)
            http = await stack.enter_async_context(
                running_http(
                    front(parts, site, api),
                    sock,
                    limits=settings.limits,
                    max_connections=max_connections,
                    max_body_bytes=settings.max_body_bytes,
                )
            )
            demo_url = None
            if settings.demo:
                jupyter_url, token = await stack.enter_async_context(
                    demo.demo_jupyter(settings.data_dir)
                )
                await demo.register_demo(storage, jupyter_url, token, clock())
                demo_url = await _mint_demo_url(parts.core, storage, site)
            on_ready(Endpoints(f"{host}:{grpc_listener.port}", f"{endpoint}/", demo_url))
            await _until_stopped(stop)
            await drain(
                settings.shutdown_grace,
                [http, grpc_listener],
                going_away=parts.proxy.open_sockets.go_away,
            )
    finally:
        refreshing.cancel()
        await parts.proxy.close()
        await storage.close()


async def _mint_demo_url(core: Core, storage: Storage, site: Site) -> str:
    """A URL for "demo", minted as the admin, as `nbpresign url demo` would."""
    keys = await storage.list_access_keys(bootstrap.ADMIN_USER)
    if not keys:
        raise RuntimeError("the admin user has no access key to mint the demo URL with")
    admin = Principal(
        user_arn(site.account_id, bootstrap.ADMIN_USER), bootstrap.ADMIN_USER, keys[0].key_id
    )
    request = presign_pb2.CreatePresignedNotebookInstanceUrlRequest(
        notebook_instance_name=demo.DEMO_NAME
    )
    ctx = CallContext(source_ip="127.0.0.1", principal=admin)
    response = await core.call(method_named("CreatePresignedNotebookInstanceUrl"), request, ctx)
    assert isinstance(response, presign_pb2.CreatePresignedNotebookInstanceUrlResponse)
    return response.authorized_url


async def run_gateway(
    settings: Settings,
    core_target: str,
    credentials: Credentials,
    *,
    on_ready: Callable[[Endpoints], None],
) -> None:
    """Runs only the gateway, forwarding to a core at `core_target` over gRPC, signing its
    calls with `credentials` (a principal allowed nbpresign:ForwardCaller and
    nbpresign:AuthenticateRequest)."""
    max_connections = connection_limit(settings.limits)
    sock = bind_http_socket(settings.host, settings.http_port)
    channel = grpc.aio.insecure_channel(core_target)
    api = api_handler(GrpcTransport(channel, credentials, settings.region), settings)
    async with (
        channel,
        running_http(
            api,
            sock,
            limits=settings.limits,
            max_connections=max_connections,
            max_body_bytes=settings.max_body_bytes,
        ) as http,
    ):
        port = sock.getsockname()[1]
        on_ready(Endpoints(core_target, f"http://{bracket(settings.host)}:{port}/"))
        await _until_stopped(None)
        await drain(settings.shutdown_grace, [http])


def connection_limit(limits: Limits) -> int:
    """Raises the open-file limit as far as it goes; the connections each listener takes."""
    open_files = raise_open_file_limit()
    connections = limits.connections(open_files)
    log.info("open-file limit %d: up to %d connections on each port", open_files, connections)
    return connections


class Listener(Protocol):
    async def drain(self, deadline: float) -> None: ...


async def drain(
    grace: float, listeners: Sequence[Listener], *, going_away: Callable[[], None] = lambda: None
) -> None:
    """SIGTERM's stop, everything within one grace period: each listener stops accepting
    (gRPC health turns NOT_SERVING first), `going_away` closes the proxied WebSockets with
    1001, requests and calls in flight finish (answered with Connection: close) while idle
    connections close, and at the deadline whatever is left is cancelled."""
    log.info("shutting down: requests in flight have %g s to finish", grace)
    deadline = asyncio.get_running_loop().time() + grace
    going_away()
    await asyncio.gather(*(listener.drain(deadline) for listener in listeners))
    log.info("stopped")


async def _until_stopped(stop: asyncio.Event | None) -> None:
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
