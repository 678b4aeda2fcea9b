"""`nbpresign instances ...` and `nbpresign url`: the client commands, over gRPC."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message

from nbpresign.client import Client, NbpresignError
from nbpresign.server.gateway import marshal

DEFAULT_SERVER = "127.0.0.1:50051"
Subparsers = Any  # argparse's _SubParsersAction is private


def add_to(commands: Subparsers) -> None:
    instances = commands.add_parser("instances", help="manage registered notebook instances")
    verbs = instances.add_subparsers(dest="verb", required=True, metavar="VERB")

    register = _client_parser(
        verbs, "register", "register a Jupyter server under a name", _register
    )
    register.add_argument("name")
    register.add_argument("--jupyter-url", required=True, help="base URL of the Jupyter server")
    register.add_argument(
        "--jupyter-token",
        default="",
        help="the token that Jupyter server expects (stored, never shown)",
    )
    listing = _client_parser(verbs, "list", "list notebook instances", _list)
    listing.add_argument("--name-contains", default="")
    listing.add_argument("--status-equals", default="")
    listing.add_argument("--sort-by", default="", choices=["", "Name", "CreationTime", "Status"])
    listing.add_argument("--sort-order", default="", choices=["", "Ascending", "Descending"])
    for verb, text, action in (
        ("describe", "describe one instance", _describe),
        ("start", "let an instance be reached again", _start),
        ("stop", "stop an instance being reached", _stop),
        ("delete", "delete a stopped instance", _delete),
    ):
        _client_parser(verbs, verb, text, action).add_argument("name")

    url = _client_parser(commands, "url", "print a presigned URL for an instance", _url)
    url.add_argument("name")
    url.add_argument(
        "--duration",
        type=int,
        default=None,
        metavar="SECONDS",
        help="session length, 1800..43200 (default 43200)",
    )


def _client_parser(
    parent: Subparsers, name: str, text: str, action: Callable[[Client, argparse.Namespace], None]
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = parent.add_parser(name, help=text)
    parser.add_argument(
        "--server",
        default=os.environ.get("NBPRESIGN_SERVER", DEFAULT_SERVER),
        metavar="HOST:PORT",
        help="the service's gRPC address (env NBPRESIGN_SERVER; default %(default)s)",
    )
    parser.set_defaults(run=lambda args: _run(action, args))
    return parser


def _run(action: Callable[[Client, argparse.Namespace], None], args: argparse.Namespace) -> int:
    try:
        with Client(args.server) as client:
            action(client, args)
    except NbpresignError as exc:
        print(f"An error occurred ({exc.code}): {exc.message}", file=sys.stderr)
        return 1
    return 0


def _print(message: Message) -> None:
    print(json.dumps(json.loads(marshal.render(message)), indent=4))


def _register(client: Client, args: argparse.Namespace) -> None:
    arn = client.register_notebook_instance(args.name, args.jupyter_url, args.jupyter_token)
    print(json.dumps({"NotebookInstanceArn": arn}, indent=4))


def _list(client: Client, args: argparse.Namespace) -> None:
    summaries: list[Any] = []
    token = ""
    while True:  # every page, as the AWS CLI does
        page = client.list_notebook_instances(
            next_token=token,
            name_contains=args.name_contains,
            status_equals=args.status_equals,
            sort_by=args.sort_by,
            sort_order=args.sort_order,
        )
        summaries.extend(json.loads(marshal.render(page)).get("NotebookInstances", []))
        token = page.next_token
        if not token:
            break
    print(json.dumps({"NotebookInstances": summaries}, indent=4))


def _describe(client: Client, args: argparse.Namespace) -> None:
    _print(client.describe_notebook_instance(args.name))


def _start(client: Client, args: argparse.Namespace) -> None:
    client.start_notebook_instance(args.name)


def _stop(client: Client, args: argparse.Namespace) -> None:
    client.stop_notebook_instance(args.name)


def _delete(client: Client, args: argparse.Namespace) -> None:
    client.delete_notebook_instance(args.name)


def _url(client: Client, args: argparse.Namespace) -> None:
    print(client.create_presigned_notebook_instance_url(args.name, args.duration))
