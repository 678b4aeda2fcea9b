"""A database that stops or freezes: callers get retryable 503 / UNAVAILABLE, never a 500,
and the service recovers by itself when the database is back. On a private cluster."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import grpc
import pytest

from nbpresign.client import Client, NbpresignError

from conftest import Server, start_server, unique_name
from pgcluster import Cluster, private_cluster


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, Server]]:
    with private_cluster() as cluster:
        server = start_server(tmp_path_factory.mktemp("data"), "--db", cluster.url)
        try:
            yield cluster, server
        finally:
            log = server.stop()
            assert "Traceback" not in log, log


def sagemaker(server: Server) -> Any:
    return boto3.session.Session().client(
        "sagemaker",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=server.identity.credentials.access_key,
        aws_secret_access_key=server.identity.credentials.secret_key,
        # One attempt, so the test sees what each answer was, not boto3's retries.
        config=botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def until(check: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_a_stopped_database_is_service_unavailable_then_recovers(
    outage: tuple[Cluster, Server],
) -> None:
    cluster, server = outage
    name = unique_name()
    client = sagemaker(server)
    with Client(server.grpc_target, identity=server.identity) as nb:
        nb.register_notebook_instance(name, "http://127.0.0.1:9/")
        cluster.stop()
        try:
            with pytest.raises(botocore.exceptions.ClientError) as caught:
                client.describe_notebook_instance(NotebookInstanceName=name)
            error = caught.value.response
            assert error["Error"]["Code"] == "ServiceUnavailable"
            assert error["ResponseMetadata"]["HTTPStatusCode"] == 503
            with pytest.raises(NbpresignError) as grpc_caught:
                nb.describe_notebook_instance(name)
            assert grpc_caught.value.grpc_code == grpc.StatusCode.UNAVAILABLE
            assert grpc_caught.value.retryable
        finally:
            cluster.start()
        # Back without a restart of the service.
        described = until(lambda: client.describe_notebook_instance(NotebookInstanceName=name))
        assert described["NotebookInstanceStatus"] == "InService"


def test_a_frozen_database_answers_within_the_timeout(outage: tuple[Cluster, Server]) -> None:
    cluster, server = outage
    client = sagemaker(server)
    cluster.freeze()
    try:
        started = time.monotonic()
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            client.list_notebook_instances()
        assert caught.value.response["Error"]["Code"] == "ServiceUnavailable"
        # The default bound is 5 s a call; the answer must come well before a client gives up.
        assert time.monotonic() - started < 30
    finally:
        cluster.thaw()
    until(lambda: client.list_notebook_instances())


def test_boto3_retries_through_a_short_outage(outage: tuple[Cluster, Server]) -> None:
    cluster, server = outage
    retrying = boto3.session.Session().client(
        "sagemaker",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=server.identity.credentials.access_key,
        aws_secret_access_key=server.identity.credentials.secret_key,
        config=botocore.config.Config(retries={"max_attempts": 10, "mode": "standard"}),
    )
    answers: list[int] = []

    def seen(response: Any = None, **_: Any) -> None:  # every attempt, retried or not
        if response is not None:
            answers.append(response[0].status_code)

    retrying.meta.events.register("needs-retry.sagemaker", seen)
    cluster.stop()
    back = threading.Timer(2.0, cluster.start)
    back.start()
    try:
        assert "NotebookInstances" in retrying.list_notebook_instances()
    finally:
        back.join()
    assert 503 in answers, answers  # it failed first, retryably ...
    assert answers[-1] == 200  # ... and boto3's retries got through
