"""Every output of every SageMaker operation served, checked against botocore's service model.

AWS always sends a response's lists, empty too, and every member the model marks required;
the SDKs read an absent list as undefined (JavaScript) or a missing key (boto3).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import aiohttp
import botocore

from nbpresign.server.api.methods import AWS_JSON_METHODS

from conftest import Server, sign_http, unique_name

MODEL = json.loads(
    gzip.decompress(
        (
            Path(botocore.__file__).parent / "data/sagemaker/2017-07-24/service-2.json.gz"
        ).read_bytes()
    )
)
SHAPES: dict[str, Any] = MODEL["shapes"]
SERVED = sorted(m.name for m in AWS_JSON_METHODS if m.name in MODEL["operations"])


async def call(server: Server, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"SageMaker.{operation}",
    }
    headers = sign_http(server.identity, server.endpoint + "/", raw, headers)
    async with (
        aiohttp.ClientSession() as session,
        session.post(server.endpoint + "/", data=raw, headers=headers) as response,
    ):
        payload: dict[str, Any] = await response.json(content_type=None)
        assert response.status == 200, (operation, payload)
        return payload


def missing(doc: Any, shape_name: str, ours: Any, where: str) -> list[str]:
    """What `doc` lacks of `shape_name`: its required members, and the list members our
    message (`ours`, its descriptor) defines too."""
    shape = SHAPES[shape_name]
    if shape["type"] == "list":
        return [
            problem
            for index, item in enumerate(doc)
            for problem in missing(item, shape["member"]["shape"], ours, f"{where}[{index}]")
        ]
    if shape["type"] != "structure":
        return []
    fields = {f.json_name: f for f in ours.fields}
    problems = [f"{where}.{m} (required)" for m in shape.get("required", []) if m not in doc]
    for member, ref in shape["members"].items():
        member_type = SHAPES[ref["shape"]]["type"]
        if member_type == "list" and member in fields and member not in doc:
            problems.append(f"{where}.{member} (a list)")
        elif member in doc and member_type in ("list", "structure"):
            inner = fields[member].message_type
            problems += missing(doc[member], ref["shape"], inner, f"{where}.{member}")
    return problems


def test_the_operations_checked_are_every_one_served() -> None:
    assert set(SERVED) == {
        "CreatePresignedNotebookInstanceUrl",
        "DeleteNotebookInstance",
        "DescribeNotebookInstance",
        "ListNotebookInstances",
        "StartNotebookInstance",
        "StopNotebookInstance",
        "AddTags",
        "ListTags",
        "DeleteTags",
    }


async def test_every_output_has_its_required_members_and_lists(
    server: Server, registered: str
) -> None:
    name = unique_name()
    await call(
        server,
        "RegisterNotebookInstance",
        {"NotebookInstanceName": name, "JupyterServerUrl": "http://127.0.0.1:9/"},
    )
    arn = f"arn:aws:sagemaker:us-east-1:000000000000:notebook-instance/{name}"
    tags = [{"Key": "team", "Value": "ds"}]
    calls: list[tuple[str, dict[str, Any]]] = [
        ("CreatePresignedNotebookInstanceUrl", {"NotebookInstanceName": registered}),
        ("ListTags", {"ResourceArn": arn}),  # none yet: an empty list
        ("AddTags", {"ResourceArn": arn, "Tags": tags}),
        ("ListTags", {"ResourceArn": arn}),
        ("DeleteTags", {"ResourceArn": arn, "TagKeys": ["team"]}),
        ("DescribeNotebookInstance", {"NotebookInstanceName": name}),
        ("ListNotebookInstances", {"NameContains": name}),
        ("ListNotebookInstances", {"NameContains": "no-such-instance-anywhere"}),  # empty
        ("StopNotebookInstance", {"NotebookInstanceName": name}),
        ("StartNotebookInstance", {"NotebookInstanceName": name}),
        ("StopNotebookInstance", {"NotebookInstanceName": name}),
        ("DeleteNotebookInstance", {"NotebookInstanceName": name}),
    ]
    assert {operation for operation, _ in calls} == set(SERVED)
    by_name = {m.name: m for m in AWS_JSON_METHODS}
    problems: list[str] = []
    for operation, body in calls:
        doc = await call(server, operation, body)
        output = MODEL["operations"][operation].get("output")
        if output is None:
            assert doc == {}, operation
            continue
        ours = by_name[operation].output_type.DESCRIPTOR
        problems += missing(doc, output["shape"], ours, operation)
    assert problems == []
