"""The tables built from the proto descriptors: every RPC is routed and implemented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from nbpresign.common.errors import ServiceError
from nbpresign.server.api import core
from nbpresign.server.api.methods import AWS_JSON_METHODS, METHODS
from nbpresign.server.gateway import router
from nbpresign.server.iam.sealing import SecretBox
from nbpresign.server.notebooks import signing_keys
from nbpresign.server.notebooks.site import Site
from nbpresign.server.notebooks.urls import UrlTemplate
from nbpresign.server.services.gateway import GatewayService
from nbpresign.server.services.iam import IamService
from nbpresign.server.services.presign import PresignService
from nbpresign.server.services.registry import NotebookInstanceService

EXPECTED = {
    "CreatePresignedNotebookInstanceUrl",
    "RegisterNotebookInstance",
    "DescribeNotebookInstance",
    "ListNotebookInstances",
    "StartNotebookInstance",
    "StopNotebookInstance",
    "DeleteNotebookInstance",
}


def test_every_sagemaker_rpc_has_a_target() -> None:
    routes = router.build_routes(AWS_JSON_METHODS)
    assert set(routes) == {f"SageMaker.{name}" for name in EXPECTED}
    assert routes["SageMaker.CreatePresignedNotebookInstanceUrl"].path == (
        "/nbpresign.v1.PresignService/CreatePresignedNotebookInstanceUrl"
    )


def test_unknown_target() -> None:
    with pytest.raises(ServiceError) as caught:
        router.resolve(router.build_routes(AWS_JSON_METHODS), "SageMaker.Nope")
    assert caught.value.code.aws == "UnknownOperationException"


def test_every_rpc_is_implemented(tmp_path: Path) -> None:
    site = Site(
        "us-east-1",
        "000000000000",
        UrlTemplate("http://{name}.localhost:{port}/", "us-east-1", 8080),
    )
    ring = signing_keys.new_key_ring()
    storage: Any = None  # never used: only the method table is built
    implementations = [
        PresignService(storage, site, lambda: ring, float),
        NotebookInstanceService(storage, site, float),
        IamService(storage, SecretBox(Fernet.generate_key()), site.account_id, float),
        GatewayService(storage),
    ]
    table = core.handler_table(METHODS, implementations)
    assert set(table) == {m.path for m in METHODS}


def test_a_missing_implementation_fails_at_start_up() -> None:
    with pytest.raises(LookupError, match="CreatePresignedNotebookInstanceUrl"):
        core.handler_table(METHODS, [])
