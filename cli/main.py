"""`nbpresign`: run the service, or talk to one over gRPC.

    nbpresign serve [--data-dir DIR] [--grpc-port N] [--http-port N] [--host ADDR]
    nbpresign gateway --core HOST:PORT [--http-port N] [--host ADDR]
    nbpresign openapi
    nbpresign instances register NAME --jupyter-url URL [--jupyter-token TOKEN]
    nbpresign instances list | describe NAME | stop NAME | start NAME | delete NAME
    nbpresign url NAME [--duration SECONDS]
    nbpresign users create NAME | list | delete NAME
    nbpresign keys create USER | list USER | delete USER KEY_ID
    nbpresign policies attach USER --document FILE [--name NAME] | list USER | detach USER NAME

Client commands reach the server at --server HOST:PORT (env NBPRESIGN_SERVER), signing
with the AWS credential chain (--profile, AWS_* variables, shared files), else with the
admin key in the local service's data directory.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from nbpresign.cli import client_commands, serve_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nbpresign",
        description="Presigned, time-limited URLs into Jupyter servers, with SageMaker's API.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve_commands.add_to(commands)
    client_commands.add_to(commands)
    client_commands.add_identity_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
