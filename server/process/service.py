"""Assembles and runs the service: storage, core, gRPC server, gateway and notebook proxy."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import grpc
from aiohttp import web
from aiohttp.typedefs import Middleware
from botocore.credentials import Credentials
from cryptography.fernet import Fernet

from nbpresign.common.defaults import CREDENTIALS_FILE
from nbpresign.server.api.authorization import Authorizer, authorize_with
from nbpresign.server.api.clock import Clock, system_clock
from nbpresign.server.api.context import CallContext
from nbpresign.server.api.core import Core, handler_table, validate_constraints
from nbpresign.server.api.methods import GATEWAY_METHODS, METHODS, method_named
from nbpresign.server.auth.authenticator import Authenticator
from nbpresign.server.auth.grpc_auth import GrpcCallAuthenticator
from nbpresign.server.auth.source_ip import parse_networks
from nbpresign.server.gateway.app import build_app
from nbpresign.server.gateway.router import build_routes
from nbpresign.server.gateway.transport import GrpcTransport, InProcessTransport, Transport
from nbpresign.server.iam import bootstrap
from nbpresign.server.iam.identities import Principal, user_arn
from nbpresign.server.iam.sealing import MASTER_KEY_ENV, SecretBox, load_or_create_master_key
from nbpresign.server.notebooks import events
from nbpresign.server.notebooks.signing_keys import KeyStore
from nbpresign.server.notebooks.site import Site
from nbpresign.server.notebooks.urls import UrlTemplate
from nbpresign.server.process import demo
from nbpresign.server.process.settings import Settings
from nbpresign.server.proxy.app import NotebookProxy
from nbpresign.server.rpc import server as grpc_server
from nbpresign.server.services.gateway import GatewayService
from nbpresign.server.services.iam import IamService
from nbpresign.server.services.presign import PresignService
from nbpresign.server.services.registry import NotebookInstanceService
from nbpresign.server.storage import Storage
from nbpresign.server.storage.opening import open_storage
from nbpresign.v1 import presign_pb2

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoints:
    grpc: str  # host:port
    http: str  # http://host:port/
    demo_url: str | None = None  # with --demo: an AuthorizedUrl for instance "demo"


def bind_http_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """Binds before anything is built, so port 0 is resolved for the URL template."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:  # --workers: every worker binds the same port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


@dataclass(frozen=True)
class Parts:
    """The service's pieces, built once from the settings."""

    core: Core
    authenticator: Authenticator
    authorizer: Authorizer
    proxy: NotebookProxy


def build_parts(
    storage: Storage,
    site: Site,
    keys: KeyStore,
    box: SecretBox,
    clock: Clock,
    settings: Settings,
) -> Parts:
    authorizer = Authorizer(storage, clock)
    authenticator = Authenticator(
        storage, box, region=site.region, account_id=site.account_id, clock=clock
    )
    proxy = NotebookProxy(
        storage,
        site,
        keys,
        clock,
        authorizer,
        sign_in_url=settings.sign_in_url,
        trusted_proxies=parse_networks(settings.trusted_proxies),
    )
    implementations = [
        PresignService(storage, site, keys.ring, clock),
        # Both changes reach every replica's proxy (events), this one's included.
        NotebookInstanceService(storage, site, clock, on_revoke=events.instance_ended(storage)),
        IamService(
            storage, box, site.account_id, clock, on_principal_change=events.user_changed(storage)
        ),
        GatewayService(authenticator),
    ]
    core = Core(
        handler_table(METHODS, implementations),
        interceptors=[authorize_with(authorizer, site), validate_constraints],
    )
    storage.subscribe(proxy.on_event)
    return Parts(core, authenticator, authorizer, proxy)


async def prepare(settings: Settings, storage: Storage, clock: Clock) -> tuple[SecretBox, KeyStore]:
    """What must exist before serving: the master key, a signing key, the admin user."""
    box = SecretBox(await master_key(settings, storage))
    keys = KeyStore(storage, box)
    await keys.ensure(clock())
    if await bootstrap.ensure_admin(storage, box, settings.data_dir, clock):
        log.info("created user admin; its key is in %s", settings.data_dir / CREDENTIALS_FILE)
    return box, keys


async def master_key(settings: Settings, storage: Storage) -> bytes:
    """NBPRESIGN_MASTER_KEY; else, for SQLite, DATA_DIR/master.key; else, for PostgreSQL,
    a key kept in the database itself (replicas then need nothing but --db; set the
    variable in production so that a copy of the database alone opens no secret)."""
    explicit = os.environ.get(MASTER_KEY_ENV)
    if explicit:
        return explicit.encode()
    if settings.db is None:
        return load_or_create_master_key(settings.data_dir)
    log.warning("%s is not set: sealing secrets with a key kept in the database", MASTER_KEY_ENV)
    return await storage.shared_secret("master-key", Fernet.generate_key())


@contextlib.asynccontextmanager
async def running_http(
    transport: Transport,
    sock: socket.socket,
    settings: Settings,
    *,
    before: Sequence[Middleware] = (),
) -> AsyncIterator[None]:
    app = build_app(
        build_routes(GATEWAY_METHODS),
        transport,
        max_body_bytes=settings.max_body_bytes,
        before=before,
        trusted_proxies=parse_networks(settings.trusted_proxies),
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
async def running_grpc(
    parts: Parts, host: str, port: int, account_id: str, *, reuse_port: bool = False
) -> AsyncIterator[int]:
    authenticate = GrpcCallAuthenticator(
        parts.authenticator, parts.authorizer, account_id=account_id
    )
    server, health = grpc_server.build_server(
        parts.core, METHODS, authenticate=authenticate, reuse_port=reuse_port
    )
    bound = server.add_insecure_port(f"{bracket(host)}:{port}")
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
                reuse_port=settings.reuse_port,
            ) as grpc_port,
        ):
            transport = InProcessTransport(parts.core, parts.authenticator)
            await stack.enter_async_context(
                running_http(transport, sock, settings, before=[parts.proxy.middleware])
            )
            demo_url = None
            if settings.demo:
                jupyter_url, token = await stack.enter_async_context(
                    demo.demo_jupyter(settings.data_dir)
                )
                await demo.register_demo(storage, jupyter_url, token, clock())
                demo_url = await _mint_demo_url(parts.core, storage, site)
            on_ready(Endpoints(f"{host}:{grpc_port}", f"{endpoint}/", demo_url))
            await _until_stopped(stop)
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
    sock = bind_http_socket(settings.host, settings.http_port)
    channel = grpc.aio.insecure_channel(core_target)
    transport = GrpcTransport(channel, credentials, settings.region)
    async with channel, running_http(transport, sock, settings):
        port = sock.getsockname()[1]
        on_ready(Endpoints(core_target, f"http://{bracket(settings.host)}:{port}/"))
        await _until_stopped(None)


async def _until_stopped(stop: asyncio.Event | None) -> None:
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")


def loopback_if_any(host: str) -> str:
    """Where a local client should connect when the service listens on every address."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104 - compared, not bound


def bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host
