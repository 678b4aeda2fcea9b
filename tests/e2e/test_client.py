"""nbpresign.client: the sync and asyncio clients against the running service."""

from __future__ import annotations

import grpc
import pytest
from botocore.credentials import Credentials

import nbpresign.client
from nbpresign.client import AsyncClient, Client, NbpresignError
from nbpresign.client.credentials import NoCredentialsError, SigningIdentity, resolve

from conftest import Server, unique_name


def identity_of_nobody() -> SigningIdentity:
    return SigningIdentity(Credentials("AKIAEXAMPLEEXAMPLE00", "x" * 40), "us-east-1")


def test_no_credentials_is_a_clear_error() -> None:
    with pytest.raises(NoCredentialsError, match="no AWS credentials found"):
        resolve()


def test_the_local_services_key_is_the_fallback(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBPRESIGN_DATA_DIR", str(server.data_dir))
    assert resolve().credentials.access_key == server.identity.credentials.access_key


def test_public_surface_is_sorted_and_complete() -> None:
    assert nbpresign.client.__all__ == sorted(nbpresign.client.__all__)
    assert {"AsyncClient", "Client", "NbpresignError"} == set(nbpresign.client.__all__)


def test_sync_client_lifecycle(server: Server) -> None:
    name = unique_name("sync")
    with Client(server.grpc_target, identity=server.identity) as client:
        arn = client.register_notebook_instance(name, "http://127.0.0.1:8888/", "t")
        assert client.describe_notebook_instance(name).notebook_instance_arn == arn
        assert "?authToken=" in client.create_presigned_notebook_instance_url(name, 1800)
        client.stop_notebook_instance(name)
        with pytest.raises(NbpresignError) as caught:
            client.create_presigned_notebook_instance_url(name)
        assert caught.value.code == "ValidationException"
        assert caught.value.grpc_code == grpc.StatusCode.FAILED_PRECONDITION
        client.delete_notebook_instance(name)
        with pytest.raises(NbpresignError) as missing:
            client.describe_notebook_instance(name)
        assert (missing.value.code, missing.value.message) == (
            "ValidationException",
            "RecordNotFound",
        )


def test_sync_client_errors_carry_field_violations(server: Server) -> None:
    with (
        Client(server.grpc_target, identity=server.identity) as client,
        pytest.raises(NbpresignError) as caught,
    ):
        client.create_presigned_notebook_instance_url("a_b", 10)
    assert [v.field for v in caught.value.violations] == [
        "notebook_instance_name",
        "session_expiration_duration_in_seconds",
    ]


async def test_async_client(server: Server) -> None:
    name = unique_name("async")
    async with AsyncClient(server.grpc_target, identity=server.identity) as client:
        await client.register_notebook_instance(name, "http://127.0.0.1:8888/")
        url = await client.create_presigned_notebook_instance_url(name)
        assert url.startswith(f"http://{name}.localhost:")
        page = await client.list_notebook_instances(name_contains=name, max_results=1)
        assert [s.notebook_instance_name for s in page.notebook_instances] == [name]
        await client.stop_notebook_instance(name)
        await client.start_notebook_instance(name)
        with pytest.raises(NbpresignError) as caught:
            await client.start_notebook_instance(name)
        assert caught.value.message == (
            "Status (InService) not in ([Stopped, Failed]). Unable to transition to (Pending) "
            f"for Notebook Instance (arn:aws:sagemaker:us-east-1:000000000000:notebook-instance/{name})"
        )


async def test_unreachable_server_is_a_clear_error() -> None:
    async with AsyncClient("127.0.0.1:1", identity=identity_of_nobody()) as client:
        with pytest.raises(NbpresignError) as caught:
            await client.describe_notebook_instance("x")
    assert caught.value.code == "ServiceUnavailable"
    assert caught.value.grpc_code == grpc.StatusCode.UNAVAILABLE
