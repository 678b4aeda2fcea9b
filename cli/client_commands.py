"""`nbpresign instances ...` and `nbpresign url`: the client commands, over gRPC."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from google.protobuf.message import Message

from nbpresign.client import Client, NbpresignError
from nbpresign.client.credentials import NoCredentialsError, resolve
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
    register.add_argument(
        "--tag", dest="tags", action="append", default=[], metavar="KEY=VALUE", type=_tag
    )
    tag = _client_parser(verbs, "tag", "add or overwrite tags on an instance", _tag_instance)
    tag.add_argument("name")
    tag.add_argument("tags", nargs="+", metavar="KEY=VALUE", type=_tag)
    untag = _client_parser(verbs, "untag", "remove tags from an instance", _untag_instance)
    untag.add_argument("name")
    untag.add_argument("keys", nargs="+", metavar="KEY")
    _client_parser(verbs, "tags", "list an instance's tags", _list_instance_tags).add_argument(
        "name"
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


def add_identity_commands(commands: Subparsers) -> None:
    users = commands.add_parser("users", help="manage users").add_subparsers(
        dest="verb", required=True, metavar="VERB"
    )
    _client_parser(users, "create", "create a user", _user_create).add_argument("name")
    _client_parser(users, "list", "list users", _user_list)
    _client_parser(
        users, "delete", "delete a user with its keys and policies", _user_delete
    ).add_argument("name")
    user_tag = _client_parser(users, "tag", "add or overwrite tags on a user", _user_tag)
    user_tag.add_argument("name")
    user_tag.add_argument("tags", nargs="+", metavar="KEY=VALUE", type=_tag)
    user_untag = _client_parser(users, "untag", "remove tags from a user", _user_untag)
    user_untag.add_argument("name")
    user_untag.add_argument("keys", nargs="+", metavar="KEY")
    _client_parser(users, "tags", "list a user's tags", _user_tags).add_argument("name")

    password = _client_parser(
        users,
        "set-password",
        "set a user's console password (read from standard input when it is not a terminal)",
        _user_set_password,
    )
    password.add_argument("name")
    password.add_argument(
        "--reset-required", action="store_true", help="the next sign-in must set a new one"
    )
    _client_parser(
        users, "delete-password", "remove a user's console password", _user_delete_password
    ).add_argument("name")

    keys = commands.add_parser("keys", help="manage access keys").add_subparsers(
        dest="verb", required=True, metavar="VERB"
    )
    _client_parser(
        keys, "create", "create an access key; prints its secret, once", _key_create
    ).add_argument("user")
    _client_parser(keys, "list", "list a user's access keys", _key_list).add_argument("user")
    deleting = _client_parser(keys, "delete", "delete an access key", _key_delete)
    deleting.add_argument("user")
    deleting.add_argument("access_key_id")

    policies = commands.add_parser(
        "policies", help="manage user and group policies"
    ).add_subparsers(dest="verb", required=True, metavar="VERB")
    attach = _client_parser(
        policies, "attach", "attach a policy document to a user or a group", _policy_attach
    )
    attach.add_argument("user", nargs="?", help="the user (or give --group)")
    attach.add_argument(
        "--document", required=True, metavar="FILE", help="the policy JSON ('-' for stdin)"
    )
    attach.add_argument("--name", default=None, help="the policy's name (default: the file's stem)")
    listing = _client_parser(policies, "list", "list a user's or group's policies", _policy_list)
    listing.add_argument("user", nargs="?", help="the user (or give --group)")
    detach = _client_parser(
        policies, "detach", "detach a policy from a user or a group", _policy_detach
    )
    detach.add_argument("names", nargs="+", metavar="[USER] NAME", help="USER NAME, or NAME")
    for parser in (attach, listing, detach):
        parser.add_argument("--group", default=None, help="a group's policies, not a user's")

    groups = commands.add_parser("groups", help="manage groups").add_subparsers(
        dest="verb", required=True, metavar="VERB"
    )
    for verb, text, action in (
        ("create", "create a group", _group_create),
        ("delete", "delete a group without members or policies", _group_delete),
        ("get", "describe a group with its members", _group_get),
    ):
        _client_parser(groups, verb, text, action).add_argument("name")
    _client_parser(
        groups, "list", "list groups, or a user's with --user", _group_list
    ).add_argument("--user", default=None)
    for verb, text, action in (
        ("add-user", "add a user to a group", _group_add_user),
        ("remove-user", "remove a user from a group", _group_remove_user),
    ):
        membership = _client_parser(groups, verb, text, action)
        membership.add_argument("group")
        membership.add_argument("user")


class UsageError(Exception):
    """Arguments argparse cannot check alone (a user or --group, not both)."""


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
    parser.add_argument(
        "--profile",
        default=None,
        help="AWS profile to sign with (default: the AWS credential chain)",
    )
    parser.set_defaults(run=lambda args: _run(action, args))
    return parser


def _run(action: Callable[[Client, argparse.Namespace], None], args: argparse.Namespace) -> int:
    try:
        with Client(args.server, identity=resolve(profile=args.profile)) as client:
            action(client, args)
    except NbpresignError as exc:
        print(f"An error occurred ({exc.code}): {exc.message}", file=sys.stderr)
        return 1
    except (NoCredentialsError, OSError) as exc:
        print(f"nbpresign: {exc}", file=sys.stderr)
        return 1
    except UsageError as exc:
        print(f"nbpresign: {exc}", file=sys.stderr)
        return 2
    return 0


def _print(message: Message) -> None:
    print(json.dumps(json.loads(marshal.render(message)), indent=4))


def _tag(text: str) -> tuple[str, str]:
    """ "team=data-science" -> ("team", "data-science"); "team" -> ("team", "")."""
    key, _, value = text.partition("=")
    return key, value


def _register(client: Client, args: argparse.Namespace) -> None:
    arn = client.register_notebook_instance(
        args.name, args.jupyter_url, args.jupyter_token, tags=dict(args.tags)
    )
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


def _json(message: Message) -> Any:
    return json.loads(marshal.render(message))


def _user_create(client: Client, args: argparse.Namespace) -> None:
    print(json.dumps({"User": _json(client.create_user(args.name))}, indent=4))


def _user_list(client: Client, args: argparse.Namespace) -> None:
    print(json.dumps({"Users": [_json(u) for u in client.list_users()]}, indent=4))


def _user_delete(client: Client, args: argparse.Namespace) -> None:
    client.delete_user(args.name)


def _read_password() -> str:
    """From standard input (its first line) when piped; else asked twice, unechoed."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New console password: ")
    if getpass.getpass("Again: ") != first:
        raise OSError("the passwords do not match")
    return first


def _user_set_password(client: Client, args: argparse.Namespace) -> None:
    password = _read_password()
    try:
        client.create_login_profile(
            args.name, password, password_reset_required=args.reset_required
        )
    except NbpresignError as exc:
        if exc.code != "EntityAlreadyExists":
            raise
        client.update_login_profile(
            args.name, password=password, password_reset_required=args.reset_required
        )
    print(f"Console password set for {args.name}.")


def _user_delete_password(client: Client, args: argparse.Namespace) -> None:
    client.delete_login_profile(args.name)


def _key_create(client: Client, args: argparse.Namespace) -> None:
    # The shape `aws iam create-access-key` prints; CreateDate as ISO 8601, as it does.
    key = client.create_access_key(args.user)
    shown = {
        "UserName": key.user_name,
        "AccessKeyId": key.access_key_id,
        "Status": key.status,
        "SecretAccessKey": key.secret_access_key,
        "CreateDate": key.create_date.ToJsonString(),
    }
    print(json.dumps({"AccessKey": shown}, indent=4))


def _key_list(client: Client, args: argparse.Namespace) -> None:
    keys = [_json(k) for k in client.list_access_keys(args.user)]
    print(json.dumps({"AccessKeyMetadata": keys}, indent=4))


def _key_delete(client: Client, args: argparse.Namespace) -> None:
    client.delete_access_key(args.user, args.access_key_id)


def _user_or_group(args: argparse.Namespace, user: str | None) -> None:
    if (user is None) == (args.group is None):
        raise UsageError("name a user or give --group GROUP, not both")


def _policy_attach(client: Client, args: argparse.Namespace) -> None:
    _user_or_group(args, args.user)
    document = sys.stdin.read() if args.document == "-" else Path(args.document).read_text()
    name = args.name or (Path(args.document).stem if args.document != "-" else "policy")
    if args.group is not None:
        client.put_group_policy(args.group, name, document)
    else:
        client.put_user_policy(args.user, name, document)


def _policy_list(client: Client, args: argparse.Namespace) -> None:
    _user_or_group(args, args.user)
    if args.group is not None:
        found = [
            {"PolicyName": n, "PolicyDocument": json.loads(client.get_group_policy(args.group, n))}
            for n in client.list_group_policies(args.group)
        ]
    else:
        found = [
            {"PolicyName": p.policy_name, "PolicyDocument": json.loads(p.policy_document)}
            for p in client.list_user_policies(args.user)
        ]
    print(json.dumps({"Policies": found}, indent=4))


def _policy_detach(client: Client, args: argparse.Namespace) -> None:
    if args.group is not None and len(args.names) == 1:
        client.delete_group_policy(args.group, args.names[0])
    elif args.group is None and len(args.names) == 2:
        client.delete_user_policy(*args.names)
    else:
        raise UsageError("give USER NAME, or --group GROUP NAME")


def _instance_arn(client: Client, name: str) -> str:
    return client.describe_notebook_instance(name).notebook_instance_arn


def _tag_instance(client: Client, args: argparse.Namespace) -> None:
    client.add_tags(_instance_arn(client, args.name), dict(args.tags))


def _untag_instance(client: Client, args: argparse.Namespace) -> None:
    client.delete_tags(_instance_arn(client, args.name), args.keys)


def _tags_json(tags: dict[str, str]) -> str:
    return json.dumps({"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}, indent=4)


def _list_instance_tags(client: Client, args: argparse.Namespace) -> None:
    print(_tags_json(client.list_tags(_instance_arn(client, args.name))))


def _user_tag(client: Client, args: argparse.Namespace) -> None:
    client.tag_user(args.name, dict(args.tags))


def _user_untag(client: Client, args: argparse.Namespace) -> None:
    client.untag_user(args.name, args.keys)


def _user_tags(client: Client, args: argparse.Namespace) -> None:
    print(_tags_json(client.list_user_tags(args.name)))


def _group_create(client: Client, args: argparse.Namespace) -> None:
    print(json.dumps({"Group": _json(client.create_group(args.name))}, indent=4))


def _group_delete(client: Client, args: argparse.Namespace) -> None:
    client.delete_group(args.name)


def _group_get(client: Client, args: argparse.Namespace) -> None:
    _print(client.get_group(args.name))


def _group_list(client: Client, args: argparse.Namespace) -> None:
    found = client.list_groups() if args.user is None else client.list_groups_for_user(args.user)
    print(json.dumps({"Groups": [_json(g) for g in found]}, indent=4))


def _group_add_user(client: Client, args: argparse.Namespace) -> None:
    client.add_user_to_group(args.group, args.user)


def _group_remove_user(client: Client, args: argparse.Namespace) -> None:
    client.remove_user_from_group(args.group, args.user)
