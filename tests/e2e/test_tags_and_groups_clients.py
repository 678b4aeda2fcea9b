"""Tags and groups through unmodified clients: boto3's sagemaker client (AWS JSON), the
`nbpresign` CLI (gRPC) and REST."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest

from conftest import NBPRESIGN, Server, sign_http, unique_name


# As in test_cli.
def nbpresign(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NBPRESIGN_SERVER": server.grpc_target}
    return subprocess.run([*NBPRESIGN, *args], capture_output=True, text=True, env=env, timeout=60)


def aws(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    command = shutil.which("aws", path=os.path.dirname(sys.executable)) or "aws"
    return subprocess.run(
        [command, "--endpoint-url", server.endpoint, "--output", "json", "sagemaker", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def sagemaker(as_admin: Server) -> Iterator[Any]:
    client = boto3.session.Session().client("sagemaker")
    yield client
    client.close()


def arn_of(name: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:000000000000:notebook-instance/{name}"


def test_boto3_adds_lists_and_deletes_tags(sagemaker: Any, registered: str) -> None:
    arn = arn_of(registered)
    tags = [{"Key": f"k{n:02}", "Value": f"v{n}"} for n in range(49)] + [
        {"Key": "Équipe", "Value": "données"}
    ]
    added = sagemaker.add_tags(ResourceArn=arn, Tags=tags)
    assert added["Tags"] == tags
    first = sagemaker.list_tags(ResourceArn=arn, MaxResults=50)
    assert first["Tags"] == [*tags[:49], {"Key": "Équipe", "Value": "données"}]
    assert "NextToken" not in first
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "k00", "Value": "new"}])  # overwrites
    paginated = sagemaker.get_paginator("list_tags").paginate(
        ResourceArn=arn, PaginationConfig={"PageSize": 50}
    )
    listed = {t["Key"]: t["Value"] for page in paginated for t in page["Tags"]}
    assert listed["k00"] == "new" and len(listed) == 50
    sagemaker.delete_tags(ResourceArn=arn, TagKeys=[f"k{n:02}" for n in range(49)])
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "Équipe", "Value": "données"}]


def test_boto3_sees_sagemakers_validation_errors(sagemaker: Any, registered: str) -> None:
    arn = arn_of(registered)

    def error_of(**kwargs: Any) -> tuple[str, str]:
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            sagemaker.add_tags(**kwargs)
        return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]

    code, message = error_of(ResourceArn=arn, Tags=[{"Key": "aws:owner", "Value": "x"}])
    assert code == "ValidationException"
    assert "at 'tags.1.member.key'" in message and "reserved" in message
    code, message = error_of(
        ResourceArn=arn, Tags=[{"Key": f"k{n}", "Value": "v"} for n in range(51)]
    )
    assert code == "ValidationException"
    assert message.endswith("Member must have length less than or equal to 50")
    code, message = error_of(ResourceArn=arn, Tags=[{"Key": "bad!", "Value": "v"}])
    assert "Member must satisfy regular expression pattern" in message
    other = "arn:aws:sagemaker:us-east-1:000000000000:endpoint/x"
    code, message = error_of(ResourceArn=other, Tags=[{"Key": "k", "Value": "v"}])
    assert (code, message) == (
        "ValidationException",
        f"Invalid ResourceArn {other}: not a notebook instance ARN",
    )
    code, message = error_of(ResourceArn=arn_of("missing-nb"), Tags=[{"Key": "k", "Value": "v"}])
    assert (code, message) == ("ValidationException", "RecordNotFound")


def test_the_aws_cli_tags_an_instance(as_admin: Server, registered: str) -> None:
    arn = arn_of(registered)
    added = aws(as_admin, "add-tags", "--resource-arn", arn, "--tags", "Key=team,Value=ds")
    assert added.returncode == 0, added.stderr
    listed = aws(as_admin, "list-tags", "--resource-arn", arn)
    assert json.loads(listed.stdout)["Tags"] == [{"Key": "team", "Value": "ds"}]
    deleted = aws(as_admin, "delete-tags", "--resource-arn", arn, "--tag-keys", "team")
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(aws(as_admin, "list-tags", "--resource-arn", arn).stdout)["Tags"] == []


def test_deleting_an_instance_deletes_its_tags(sagemaker: Any, registered: str) -> None:
    arn = arn_of(registered)
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "ds"}])
    sagemaker.stop_notebook_instance(NotebookInstanceName=registered)
    sagemaker.delete_notebook_instance(NotebookInstanceName=registered)
    with pytest.raises(botocore.exceptions.ClientError):
        sagemaker.list_tags(ResourceArn=arn)


def ok(server: Server, *args: str) -> Any:
    done = nbpresign(server, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_cli_groups_policies_and_tags(as_admin: Server, tmp_path: Path) -> None:
    server = as_admin
    user, group, notebook = unique_name("u"), unique_name("g"), unique_name("nb")
    ok(server, "users", "create", user)
    created = ok(server, "groups", "create", group)["Group"]
    assert created["Arn"] == f"arn:aws:iam::000000000000:group/{group}"
    assert created["GroupId"].startswith("AGPA") and created["Path"] == "/"
    ok(server, "groups", "add-user", group, user)
    assert [u["UserName"] for u in ok(server, "groups", "get", group)["Users"]] == [user]
    assert [g["GroupName"] for g in ok(server, "groups", "list", "--user", user)["Groups"]] == [
        group
    ]
    policy = tmp_path / "team.json"
    policy.write_text(
        json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    )
    ok(server, "policies", "attach", "--group", group, "--document", str(policy))
    listed = ok(server, "policies", "list", "--group", group)["Policies"]
    assert [p["PolicyName"] for p in listed] == ["team"]
    refused = nbpresign(server, "groups", "delete", group)
    assert refused.returncode == 1
    assert "DeleteConflict" in refused.stderr
    ok(server, "policies", "detach", "--group", group, "team")
    ok(server, "groups", "remove-user", group, user)
    ok(server, "groups", "delete", group)
    assert group not in [g["GroupName"] for g in ok(server, "groups", "list")["Groups"]]

    ok(server, "users", "tag", user, "team=data-science", "Cost=1")
    ok(server, "users", "untag", user, "cost")  # IAM: user tag keys ignore case
    assert ok(server, "users", "tags", user)["Tags"] == [{"Key": "team", "Value": "data-science"}]

    ok(
        server,
        "instances",
        "register",
        notebook,
        "--jupyter-url",
        "http://127.0.0.1:9/",
        "--tag",
        "team=ds",
    )
    ok(server, "instances", "tag", notebook, "owner=alice", "empty=")
    ok(server, "instances", "untag", notebook, "team")
    assert ok(server, "instances", "tags", notebook)["Tags"] == [
        {"Key": "empty", "Value": ""},
        {"Key": "owner", "Value": "alice"},
    ]
    both = nbpresign(server, "policies", "list", user, "--group", "g")
    assert both.returncode == 2 and "not both" in both.stderr


def test_rest_groups_and_tags(server: Server) -> None:
    import urllib.request

    group = unique_name("g")

    def rest(method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        url = server.endpoint.rstrip("/") + path
        raw = json.dumps(body).encode() if body is not None else b""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        signed = sign_http(server.identity, url, raw, headers, method=method)
        request = urllib.request.Request(url, data=raw or None, headers=signed, method=method)
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    status, created = rest("POST", "/v1/groups", {"GroupName": group})
    assert status == 200 and created["Group"]["GroupName"] == group
    status, _ = rest("PUT", f"/v1/groups/{group}/users/admin", {})
    assert status == 200
    status, got = rest("GET", f"/v1/groups/{group}")
    assert [u["UserName"] for u in got["Users"]] == ["admin"]
    status, refused = rest("DELETE", f"/v1/groups/{group}")  # DeleteConflict: it has a member
    assert status == 400  # FAILED_PRECONDITION, as grpc-gateway maps it
    assert "must remove users from group" in refused["message"]
    assert rest("DELETE", f"/v1/groups/{group}/users/admin")[0] == 200
    assert rest("DELETE", f"/v1/groups/{group}")[0] == 200
