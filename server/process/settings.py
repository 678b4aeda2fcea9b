"""Settings of a running service, with the defaults `nbpresign serve` documents."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nbpresign.common.defaults import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_GRPC_PORT,
    DEFAULT_HOST,
    DEFAULT_HTTP_PORT,
    DEFAULT_REGION,
    default_data_dir,
)
from nbpresign.server.gateway.app import DEFAULT_MAX_BODY_BYTES
from nbpresign.server.notebooks.urls import DEFAULT_URL_TEMPLATE
from nbpresign.server.process.limits import DEFAULT_SHUTDOWN_GRACE, Limits
from nbpresign.server.proxy.limits import Limits as ProxyLimits


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    host: str = DEFAULT_HOST
    grpc_port: int = DEFAULT_GRPC_PORT
    http_port: int = DEFAULT_HTTP_PORT
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    url_template: str = DEFAULT_URL_TEMPLATE
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    sign_in_url: str | None = None  # an override; None: the console's sign-in page
    # Where browsers reach the console (an API host URL); None: http://<loopback>:<port>/.
    console_url: str | None = None
    demo: bool = False  # also start a local Jupyter server, registered as "demo"
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (CIDRs).
    trusted_proxies: tuple[str, ...] = ()
    db: str | None = None  # postgresql://...; None: SQLite in the data directory
    workers: int = 1  # processes sharing the ports (SO_REUSEPORT)
    reuse_port: bool = False  # set for each of those workers
    limits: Limits = field(default_factory=Limits)  # timeouts and connections per listener
    shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE  # SIGTERM: how long requests may finish
    proxy_limits: ProxyLimits = field(default_factory=ProxyLimits)  # the proxy's bounds, per worker
