"""`nbpresign serve` and `nbpresign gateway`."""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import sys
from pathlib import Path
from typing import Any, cast

from nbpresign.client.credentials import NoCredentialsError, resolve
from nbpresign.common import defaults
from nbpresign.server.api.clock import system_clock
from nbpresign.server.api.methods import METHODS
from nbpresign.server.gateway import openapi
from nbpresign.server.http import bodies
from nbpresign.server.notebooks import signing_keys
from nbpresign.server.notebooks.urls import DEFAULT_URL_TEMPLATE, TemplateError
from nbpresign.server.process import assembly, limits, service, settings, workers
from nbpresign.server.proxy import limits as proxy_limits
from nbpresign.server.storage import StorageError
from nbpresign.server.storage.opening import open_storage

Subparsers = Any  # argparse's _SubParsersAction is private

# serve's options for the notebook proxy's bounds -> (the proxy Limits field, its help).
PROXY_LIMIT_OPTIONS = {
    "--proxy-requests-per-notebook": ("requests_per_notebook", "plain requests in flight"),
    "--proxy-requests-per-session": ("requests_per_session", "of those, from one browser"),
    "--proxy-websockets-per-notebook": ("websockets_per_notebook", "WebSockets open"),
    "--proxy-websockets-per-session": ("websockets_per_session", "of those, from one browser"),
    "--proxy-wait": ("wait_seconds", "seconds to wait for a place before a 503 page"),
}


def _proxy_limit_value(text: str, name: str) -> int | float:
    """The value of the proxy's Limits field `name` in `text`, checked as Limits checks it."""
    kind: type[int] | type[float] = type(getattr(proxy_limits.DEFAULT_LIMITS, name))
    try:
        value = kind(text)
        proxy_limits.Limits(**{name: cast(Any, value)})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def add_to(commands: Subparsers) -> None:
    serve = commands.add_parser("serve", help="run the gRPC server and the AWS JSON gateway")
    _add_listen_options(serve)
    serve.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where the database and signing keys live "
        "(default: $NBPRESIGN_DATA_DIR or ~/.local/share/nbpresign)",
    )
    serve.add_argument(
        "--grpc-port",
        type=int,
        default=defaults.DEFAULT_GRPC_PORT,
        help="gRPC port (default: %(default)s)",
    )
    serve.add_argument("--region", default=defaults.DEFAULT_REGION, help="region in ARNs and URLs")
    serve.add_argument("--account-id", default=defaults.DEFAULT_ACCOUNT_ID, help="account in ARNs")
    serve.add_argument(
        "--url-template",
        default=DEFAULT_URL_TEMPLATE,
        help="where notebooks are reached; placeholders {name}, {region}, {port} "
        "(default: %(default)s)",
    )
    serve.add_argument(
        "--sign-in-url",
        default=None,
        help="where a browser goes when a link or session is no longer valid "
        "(default: the console's sign-in page)",
    )
    serve.add_argument(
        "--console-url",
        default=None,
        metavar="URL",
        help="where browsers reach the console, on the API host "
        "(default: http://<loopback host>:<http port>/)",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="also start a local Jupyter server, registered as instance 'demo', "
        "and print a URL that opens it",
    )
    serve.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="CIDR",
        help="a proxy or load balancer whose X-Forwarded-For is believed (repeatable)",
    )
    _add_db_option(serve)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="processes sharing the ports, each with its own event loop (default: 1)",
    )
    _add_limit_options(serve)
    _add_proxy_limit_options(serve)
    serve.set_defaults(run=_serve)

    rotate = commands.add_parser(
        "rotate-signing-key",
        help="add a new key for signing URLs; URLs signed with the old ones stay valid",
    )
    rotate.add_argument("--data-dir", type=Path, default=None, help="as for serve")
    _add_db_option(rotate)
    rotate.set_defaults(run=_rotate)

    gateway = commands.add_parser(
        "gateway", help="run only the AWS JSON gateway, in front of a remote core"
    )
    _add_listen_options(gateway)
    gateway.add_argument(
        "--core", required=True, metavar="HOST:PORT", help="the core's gRPC address"
    )
    _add_limit_options(gateway)
    gateway.set_defaults(run=_gateway)

    spec = commands.add_parser(
        "openapi", help="print the OpenAPI 3 document of the REST routes (as GET /openapi.json)"
    )
    spec.set_defaults(run=_openapi)


def _add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=os.environ.get("NBPRESIGN_DB"),
        metavar="URL",
        help="postgresql://... to share one database between replicas "
        "(env NBPRESIGN_DB; default: SQLite in the data directory)",
    )


def _add_listen_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default=defaults.DEFAULT_HOST, help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--http-port",
        type=int,
        default=defaults.DEFAULT_HTTP_PORT,
        help="AWS JSON gateway port (default: %(default)s)",
    )


def _add_limit_options(parser: argparse.ArgumentParser) -> None:
    seconds: dict[str, Any] = {"type": _positive_seconds, "metavar": "SECONDS"}
    parser.add_argument(
        "--shutdown-grace",
        default=limits.DEFAULT_SHUTDOWN_GRACE,
        help="on SIGTERM, how long requests in flight may finish (default: %(default)s)",
        **seconds,
    )
    parser.add_argument(
        "--header-timeout",
        default=limits.DEFAULT_HEADER_TIMEOUT,
        help="how long a request's line and headers may take to arrive (default: %(default)s)",
        **seconds,
    )
    parser.add_argument(
        "--body-timeout",
        default=bodies.DEFAULT_BODY_TIMEOUT,
        help="the longest pause while a request body arrives (default: %(default)s)",
        **seconds,
    )
    parser.add_argument(
        "--idle-timeout",
        default=limits.DEFAULT_IDLE_TIMEOUT,
        help="how long a connection may stay idle between requests (default: %(default)s)",
        **seconds,
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=None,
        metavar="N",
        help="connections at once on each port; past it, 503 "
        "(default: a third of the open-file limit each, after 256 kept in reserve)",
    )


def _positive_seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def _limits(args: argparse.Namespace) -> limits.Limits:
    return limits.Limits(
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        idle_timeout=args.idle_timeout,
        max_connections=args.max_connections,
    )


def _add_proxy_limit_options(parser: argparse.ArgumentParser) -> None:
    for option, (name, text) in PROXY_LIMIT_OPTIONS.items():
        parser.add_argument(
            option,
            type=functools.partial(_proxy_limit_value, name=name),
            default=getattr(proxy_limits.DEFAULT_LIMITS, name),
            dest=name,
            metavar="SECONDS" if name == "wait_seconds" else "N",
            help=f"{text} (default: %(default)s)",
        )


def _proxy_limits(args: argparse.Namespace) -> proxy_limits.Limits:
    return proxy_limits.Limits(
        **{name: getattr(args, name) for name, _ in PROXY_LIMIT_OPTIONS.values()}
    )


def _announce(endpoints: service.Endpoints) -> None:
    print(f"nbpresign: gRPC on {endpoints.grpc}", flush=True)
    print(f"nbpresign: AWS JSON gateway on {endpoints.http}", flush=True)
    if endpoints.demo_url:
        print(
            "nbpresign: the demo notebook is ready. Open this URL within 5 minutes "
            "(it works once; `nbpresign url demo` makes another):\n\n"
            f"    {endpoints.demo_url}\n",
            flush=True,
        )
    if endpoints.console_url:
        print(f"nbpresign: the console is at {endpoints.console_url}", flush=True)
    if endpoints.console_password:
        print(
            "nbpresign: sign in to the console as user name admin with password "
            f"{endpoints.console_password} (shown once; it is also in "
            f"{defaults.CONSOLE_PASSWORD_FILE} in the data directory)",
            flush=True,
        )


def _serve(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    options = settings.Settings(
        data_dir=args.data_dir or defaults.default_data_dir(),
        host=args.host,
        grpc_port=args.grpc_port,
        http_port=args.http_port,
        region=args.region,
        account_id=args.account_id,
        url_template=args.url_template,
        sign_in_url=args.sign_in_url,
        console_url=args.console_url,
        demo=args.demo,
        trusted_proxies=tuple(args.trusted_proxy),
        db=args.db,
        workers=args.workers,
        limits=_limits(args),
        shutdown_grace=args.shutdown_grace,
        proxy_limits=_proxy_limits(args),
    )
    try:
        if options.workers > 1:
            return workers.run_workers(options, on_ready=_announce)
        asyncio.run(service.run(options, on_ready=_announce))
    except (OSError, StorageError, TemplateError, RuntimeError, TimeoutError, ValueError) as exc:
        print(f"nbpresign: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


def _rotate(args: argparse.Namespace) -> int:
    options = settings.Settings(data_dir=args.data_dir or defaults.default_data_dir(), db=args.db)

    async def rotate() -> str:
        storage = await open_storage(options.db, options.data_dir)
        try:
            box, _ = await assembly.prepare(options, storage, system_clock)
            return await signing_keys.add_key(storage, box, system_clock())
        finally:
            await storage.close()

    try:
        kid = asyncio.run(rotate())
    except (OSError, StorageError, ValueError) as exc:
        print(f"nbpresign: cannot rotate: {exc}", file=sys.stderr)
        return 1
    print(f"new signing key {kid}: running replicas sign with it within a minute")
    return 0


def _gateway(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        identity = resolve()
    except NoCredentialsError as exc:
        print(f"nbpresign: cannot start: {exc}", file=sys.stderr)
        return 1
    options = settings.Settings(
        host=args.host,
        http_port=args.http_port,
        region=identity.region,
        limits=_limits(args),
        shutdown_grace=args.shutdown_grace,
    )
    try:
        asyncio.run(
            service.run_gateway(options, args.core, identity.credentials, on_ready=_announce)
        )
    except OSError as exc:
        print(f"nbpresign: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


def _openapi(args: argparse.Namespace) -> int:
    sys.stdout.buffer.write(openapi.render(METHODS))
    return 0
