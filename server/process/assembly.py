"""Builds the service's parts from its settings: what runs behind the listeners."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from cryptography.fernet import Fernet

from nbpresign.common.defaults import CREDENTIALS_FILE
from nbpresign.server.api.authorization import Authorizer, authorize_with
from nbpresign.server.api.clock import Clock
from nbpresign.server.api.core import Core, handler_table, validate_constraints
from nbpresign.server.api.methods import AWS_JSON_METHODS, METHODS
from nbpresign.server.api.pagination import PageTokens
from nbpresign.server.auth.authenticator import Authenticator
from nbpresign.server.auth.source_ip import parse_networks
from nbpresign.server.console.app import Console
from nbpresign.server.console.links import notebook_sign_in_route, sign_in_location
from nbpresign.server.console.lockout import Lockout, LockoutPolicy
from nbpresign.server.console.sessions import ConsoleSessions
from nbpresign.server.gateway import openapi
from nbpresign.server.gateway.app import build_api
from nbpresign.server.gateway.router import Router, build_rest, build_routes
from nbpresign.server.gateway.transport import Transport
from nbpresign.server.iam import bootstrap
from nbpresign.server.iam.sealing import MASTER_KEY_ENV, SecretBox, load_or_create_master_key
from nbpresign.server.notebooks import events
from nbpresign.server.notebooks.admission import Admission
from nbpresign.server.notebooks.signing_keys import KeyStore
from nbpresign.server.notebooks.site import Site
from nbpresign.server.process.front import Front, Handler, notebook_route, path_route
from nbpresign.server.process.settings import Settings
from nbpresign.server.proxy.app import NotebookProxy, SignInLocation
from nbpresign.server.services.gateway import GatewayService
from nbpresign.server.services.iam import IamService, LoginProfiles
from nbpresign.server.services.presign import PresignService
from nbpresign.server.services.registry import NotebookInstanceService
from nbpresign.server.storage import Storage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Parts:
    """The service's pieces, built once from the settings."""

    core: Core
    authenticator: Authenticator
    authorizer: Authorizer
    proxy: NotebookProxy
    console: Console
    sign_in_location: SignInLocation


def build_parts(
    storage: Storage,
    site: Site,
    keys: KeyStore,
    box: SecretBox,
    clock: Clock,
    settings: Settings,
    *,
    loopback_host: str = "127.0.0.1",
) -> Parts:
    """`loopback_host`: how this machine reaches the HTTP port (the console's default host)."""
    authorizer = Authorizer(storage, clock)
    authenticator = Authenticator(
        storage, box, region=site.region, account_id=site.account_id, clock=clock
    )
    trusted = parse_networks(settings.trusted_proxies)
    locate = sign_in_location(
        console_url=settings.console_url,
        sign_in_url=settings.sign_in_url,
        loopback_host=loopback_host,
    )
    proxy = NotebookProxy(
        site,
        keys,
        clock,
        Admission(storage, authorizer, site),
        storage,
        sign_in_location=locate,
        trusted_proxies=trusted,
        limits=settings.proxy_limits,
    )
    implementations = [
        PresignService(storage, site, keys.ring, clock),
        # Both changes reach every replica's proxy (events), this one's included.
        NotebookInstanceService(
            storage,
            site,
            clock,
            PageTokens(box.derive_key("pagination")),  # the same on every replica
            on_revoke=events.instance_ended(storage),
            on_tags_change=events.tags_changed(storage),
        ),
        IamService(
            storage, box, site.account_id, clock, on_principal_change=events.user_changed(storage)
        ),
        LoginProfiles(storage, clock, on_principal_change=events.user_changed(storage)),
        GatewayService(authenticator),
    ]
    core = Core(
        handler_table(METHODS, implementations),
        interceptors=[authorize_with(authorizer, site), validate_constraints],
    )
    storage.subscribe(proxy.on_event)
    console = Console(
        core,
        authorizer,
        storage,
        ConsoleSessions(storage, clock, site.account_id),
        Lockout(storage, clock, LockoutPolicy()),
        account_id=site.account_id,
        trusted_proxies=trusted,
    )
    return Parts(core, authenticator, authorizer, proxy, console, locate)


def api_handler(
    transport: Transport, settings: Settings, console: Console | None = None
) -> Handler:
    """The console (GET / and /_nbpresign/...) when this process has a core, AWS JSON (the
    SageMaker operations), REST (every RPC with an HTTP rule), and the OpenAPI document of
    the REST routes."""
    api = build_api(
        Router(build_routes(AWS_JSON_METHODS), build_rest(METHODS)),
        transport,
        max_body_bytes=settings.max_body_bytes,
        trusted_proxies=parse_networks(settings.trusted_proxies),
    )
    routes = [] if console is None else [console.route]
    return Front([*routes, path_route(openapi.OPENAPI_PATH, openapi.serve(METHODS))], default=api)


def front(parts: Parts, site: Site, api: Handler) -> Front:
    """The HTTP port: a notebook host's sign-in path (on to the console's), every notebook
    host, then the API host (the console among it)."""
    return Front(
        [
            notebook_sign_in_route(site.urls, parts.sign_in_location),
            notebook_route(site.urls, parts.proxy),
        ],
        default=api,
    )


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
