"""boto3's own sagemaker client against the running service."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import botocore.exceptions
import jwt
import pytest

from nbpresign.client import Client

from conftest import Server, unique_name


@pytest.fixture
def sagemaker(as_admin: Server) -> Iterator[Any]:
    # No endpoint_url: the config file `serve` wrote names it, as the README shows.
    client = boto3.session.Session().client("sagemaker")
    assert client.meta.endpoint_url == as_admin.endpoint
    yield client
    client.close()


def token_claims(url: str) -> dict[str, Any]:
    token = parse_qs(urlsplit(url).query)["authToken"][0]
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def test_presign_without_duration_defaults_to_12_hours(sagemaker: Any, registered: str) -> None:
    before = int(time.time())
    url = sagemaker.create_presigned_notebook_instance_url(NotebookInstanceName=registered)[
        "AuthorizedUrl"
    ]
    parts = urlsplit(url)
    assert parts.scheme == "http"
    assert parts.hostname == f"{registered}.localhost"
    claims = token_claims(url)
    assert claims["sess"] == 43200
    assert claims["nb"] == registered
    assert claims["aud"].endswith(f":notebook-instance/{registered}")
    assert claims["exp"] - claims["iat"] == 300
    assert before <= claims["iat"] <= int(time.time())


def test_presign_with_duration(sagemaker: Any, registered: str) -> None:
    response = sagemaker.create_presigned_notebook_instance_url(
        NotebookInstanceName=registered, SessionExpirationDurationInSeconds=1800
    )
    assert token_claims(response["AuthorizedUrl"])["sess"] == 1800
    assert response["ResponseMetadata"]["RequestId"]


def test_each_url_has_a_unique_token_id(sagemaker: Any, registered: str) -> None:
    ids = {
        token_claims(
            sagemaker.create_presigned_notebook_instance_url(NotebookInstanceName=registered)[
                "AuthorizedUrl"
            ]
        )["jti"]
        for _ in range(3)
    }
    assert len(ids) == 3


def test_names_are_case_insensitive_and_arns_lower_case(sagemaker: Any, server: Server) -> None:
    name = unique_name("MixedCase")
    with Client(server.grpc_target, identity=server.identity) as client:
        arn = client.register_notebook_instance(name, "http://127.0.0.1:9/")
    assert arn.endswith(f"notebook-instance/{name.lower()}")
    described = sagemaker.describe_notebook_instance(NotebookInstanceName=name.upper())
    assert described["NotebookInstanceName"] == name
    assert described["NotebookInstanceArn"] == arn
    assert described["Url"] == f"{name.lower()}.localhost:{server.http_port}"
    url = sagemaker.create_presigned_notebook_instance_url(NotebookInstanceName=name)
    assert urlsplit(url["AuthorizedUrl"]).hostname == f"{name.lower()}.localhost"


def test_describe(sagemaker: Any, registered: str) -> None:
    described = sagemaker.describe_notebook_instance(NotebookInstanceName=registered)
    assert described["NotebookInstanceStatus"] == "InService"
    assert described["NotebookInstanceArn"] == (
        f"arn:aws:sagemaker:us-east-1:000000000000:notebook-instance/{registered}"
    )
    assert abs(described["CreationTime"].timestamp() - time.time()) < 120
    # The Jupyter token is stored but never returned by any read.
    assert "jupyter-secret-token" not in repr(described)


def test_list_with_pagination(sagemaker: Any, server: Server) -> None:
    prefix = unique_name("page")
    names = [f"{prefix}-{i}" for i in range(5)]
    with Client(server.grpc_target, identity=server.identity) as client:
        for name in reversed(names):
            client.register_notebook_instance(name, "http://127.0.0.1:9/")
    first = sagemaker.list_notebook_instances(NameContains=prefix, MaxResults=2)
    assert [i["NotebookInstanceName"] for i in first["NotebookInstances"]] == names[:2]
    assert first["NextToken"]
    paginator = sagemaker.get_paginator("list_notebook_instances")
    seen = [
        summary["NotebookInstanceName"]
        for page in paginator.paginate(NameContains=prefix, PaginationConfig={"PageSize": 2})
        for summary in page["NotebookInstances"]
    ]
    assert seen == names
    descending = sagemaker.list_notebook_instances(
        NameContains=prefix, SortBy="CreationTime", SortOrder="Descending"
    )
    assert [i["NotebookInstanceName"] for i in descending["NotebookInstances"]] == names
    assert "NextToken" not in descending


def test_list_filters_by_status(sagemaker: Any, server: Server) -> None:
    prefix = unique_name("status")
    with Client(server.grpc_target, identity=server.identity) as client:
        client.register_notebook_instance(f"{prefix}-a", "http://127.0.0.1:9/")
        client.register_notebook_instance(f"{prefix}-b", "http://127.0.0.1:9/")
    sagemaker.stop_notebook_instance(NotebookInstanceName=f"{prefix}-b")
    stopped = sagemaker.list_notebook_instances(NameContains=prefix, StatusEquals="Stopped")
    assert [i["NotebookInstanceName"] for i in stopped["NotebookInstances"]] == [f"{prefix}-b"]


def test_stop_then_presign_fails_and_start_restores(sagemaker: Any, registered: str) -> None:
    sagemaker.stop_notebook_instance(NotebookInstanceName=registered)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sagemaker.create_presigned_notebook_instance_url(NotebookInstanceName=registered)
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "Stopped" in error["Message"]
    sagemaker.start_notebook_instance(NotebookInstanceName=registered)
    assert sagemaker.create_presigned_notebook_instance_url(NotebookInstanceName=registered)[
        "AuthorizedUrl"
    ]


def test_delete_needs_a_stopped_instance(sagemaker: Any, registered: str) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sagemaker.delete_notebook_instance(NotebookInstanceName=registered)
    arn = f"arn:aws:sagemaker:us-east-1:000000000000:notebook-instance/{registered.lower()}"
    assert caught.value.response["Error"]["Message"] == (
        "Status (InService) not in ([Stopped, Failed]). "
        f"Unable to transition to (Deleting) for Notebook Instance ({arn})"
    )
    sagemaker.stop_notebook_instance(NotebookInstanceName=registered)
    sagemaker.delete_notebook_instance(NotebookInstanceName=registered)
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        sagemaker.describe_notebook_instance(NotebookInstanceName=registered)
    assert missing.value.response["Error"]["Message"] == "RecordNotFound"


@pytest.mark.parametrize(
    "operation",
    [
        "describe_notebook_instance",
        "create_presigned_notebook_instance_url",
        "stop_notebook_instance",
    ],
)
def test_missing_instance(sagemaker: Any, operation: str) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        getattr(sagemaker, operation)(NotebookInstanceName=unique_name("missing"))
    assert caught.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "RecordNotFound",
    }
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_botocore_does_not_check_the_pattern_so_the_server_does(sagemaker: Any) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sagemaker.create_presigned_notebook_instance_url(
            NotebookInstanceName="bad_name!", SessionExpirationDurationInSeconds=50000
        )
    message = caught.value.response["Error"]["Message"]
    assert message.startswith("2 validation errors detected: ")
    assert "at 'notebookInstanceName'" in message
    assert "Member must have value less than or equal to 43200" in message
