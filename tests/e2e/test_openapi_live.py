"""The OpenAPI document against a live server: what it serves is what the CLI prints, and
schemathesis, signing every request with SigV4, finds no 5xx and no response the document
does not describe."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from nbpresign.client.credentials import SigningIdentity

from conftest import NBPRESIGN, Server, start_server

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
STATUSES: dict[int, int] = {}  # what the run saw, for its report
EXAMPLES = 30  # per operation and generation mode: 37 x 2 x 30 requests, about 45 seconds


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: the generated requests delete and stop whatever they name."""
    running = start_server(tmp_path_factory.mktemp("openapi"))
    yield running
    log = running.stop()
    assert "Traceback" not in log, log


class SigV4(requests.auth.AuthBase):
    """Signs each request as it will be sent, as botocore signs for boto3."""

    def __init__(self, identity: SigningIdentity) -> None:
        self.identity = identity

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        signed = AWSRequest(method=request.method, url=request.url, data=body)
        SigV4Auth(self.identity.credentials, "sagemaker", self.identity.region).add_auth(signed)
        request.headers.update(dict(signed.headers.items()))
        return request


def test_the_served_document_is_the_printed_one(live: Server) -> None:
    served = requests.get(live.endpoint + "/openapi.json", timeout=10)  # anonymous
    assert served.status_code == 200
    assert served.headers["Content-Type"].startswith("application/json")
    printed = subprocess.run(
        [*NBPRESIGN, "openapi"], capture_output=True, check=True, timeout=60
    ).stdout
    assert served.content == printed
    assert json.loads(printed)["openapi"] == "3.0.3"


def test_the_document_route_takes_only_get(live: Server) -> None:
    response = requests.post(live.endpoint + "/openapi.json", timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"
    assert response.json()["code"] == 12


def _run(operation: Any, mode: GenerationMode, session: requests.Session, base_url: str) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same requests each run: a failure here reproduces
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        response = case.call(base_url=base_url, session=session, timeout=10)
        STATUSES[response.status_code] = STATUSES.get(response.status_code, 0) + 1
        case.validate_response(response, checks=CHECKS)

    check()


def test_schemathesis_finds_nothing(live: Server, tmp_path: Path) -> None:
    schema = schemathesis.openapi.from_url(live.endpoint + "/openapi.json")
    session = requests.Session()
    session.auth = SigV4(live.identity)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an Err raises here, as it should
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _run(operation, mode, session, live.endpoint)
            except Exception as exc:  # each operation's first failure, shrunk
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    print(f"schemathesis: {sum(STATUSES.values())} requests, by status {sorted(STATUSES.items())}")
    assert operations == 37  # 33, and the four login-profile routes
    assert failures == [], "\n\n".join(failures)
    assert sum(STATUSES.values()) > 37 * EXAMPLES  # it did run (positive and negative)
