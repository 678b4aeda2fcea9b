from __future__ import annotations

import json
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from nbpresign.common.errors import ServiceError
from nbpresign.server.gateway import marshal
from nbpresign.v1 import notebook_instances_pb2 as nb
from nbpresign.v1 import presign_pb2

Presign = presign_pb2.CreatePresignedNotebookInstanceUrlRequest


def test_parse_uses_aws_member_names() -> None:
    message = marshal.parse(
        b'{"NotebookInstanceName": "nb", "SessionExpirationDurationInSeconds": 1800}', Presign
    )
    assert message == Presign(
        notebook_instance_name="nb", session_expiration_duration_in_seconds=1800
    )


def test_empty_body_is_an_empty_request() -> None:
    assert marshal.parse(b"", nb.ListNotebookInstancesRequest) == nb.ListNotebookInstancesRequest()


def test_null_is_absent() -> None:
    message = marshal.parse(
        b'{"NotebookInstanceName": "nb", "SessionExpirationDurationInSeconds": null}', Presign
    )
    assert isinstance(message, Presign)
    assert not message.HasField("session_expiration_duration_in_seconds")


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"null",
        b'"text"',
        b'{"NotebookInstanceName": 1}',
        b'{"NotebookInstanceName": ["x"]}',
        b'{"SessionExpirationDurationInSeconds": "1800"}',
        b'{"SessionExpirationDurationInSeconds": 1800.0}',
        b'{"SessionExpirationDurationInSeconds": false}',
        b'{"SessionExpirationDurationInSeconds": 99999999999}',
        b'{"notebookInstanceName": "lower camel is not the wire name"}',
        b'{"notebook_instance_name": "nor is the proto name"}',
    ],
)
def test_parse_refuses(body: bytes) -> None:
    with pytest.raises(ServiceError) as caught:
        marshal.parse(body, Presign)
    assert caught.value.code.aws == "SerializationException"


def test_timestamps_travel_as_epoch_seconds() -> None:
    parsed = marshal.parse(
        b'{"CreationTimeAfter": 1523050674.078}', nb.ListNotebookInstancesRequest
    )
    assert isinstance(parsed, nb.ListNotebookInstancesRequest)
    assert parsed.creation_time_after.ToMilliseconds() == 1523050674078
    stamp = Timestamp()
    stamp.FromMilliseconds(1523050674078)
    rendered = json.loads(
        marshal.render(
            nb.DescribeNotebookInstanceResponse(notebook_instance_name="x", creation_time=stamp)
        )
    )
    assert rendered == {"NotebookInstanceName": "x", "CreationTime": 1523050674.078}


def test_render_nested_lists() -> None:
    stamp = Timestamp(seconds=10)
    page = nb.ListNotebookInstancesResponse(
        notebook_instances=[
            nb.NotebookInstanceSummary(notebook_instance_name="a", creation_time=stamp)
        ]
    )
    doc: dict[str, Any] = json.loads(marshal.render(page))
    assert doc == {"NotebookInstances": [{"NotebookInstanceName": "a", "CreationTime": 10.0}]}


@pytest.mark.parametrize("value", ['"2020-01-01"', "true", "1e400"])
def test_bad_timestamps(value: str) -> None:
    with pytest.raises(ServiceError) as caught:
        marshal.parse(f'{{"CreationTimeAfter": {value}}}'.encode(), nb.ListNotebookInstancesRequest)
    assert caught.value.code.aws == "SerializationException"


def test_an_empty_list_is_sent_as_aws_does() -> None:
    # MessageToDict drops empty repeated fields; the AWS SDKs then see no list at all.
    assert json.loads(marshal.render(nb.ListNotebookInstancesResponse())) == {
        "NotebookInstances": []
    }


def test_the_registry_is_keyed_by_content_type() -> None:
    for content_type, marshaler in marshal.MARSHALERS.items():
        assert marshaler.content_type == content_type
    assert set(marshal.MARSHALERS) == {"application/x-amz-json-1.1", "application/json"}


PROTO_JSON = marshal.MARSHALERS["application/json"]


def test_proto_json_takes_json_names_and_proto_names() -> None:
    for body in (b'{"NotebookInstanceName": "nb"}', b'{"notebook_instance_name": "nb"}'):
        assert PROTO_JSON.parse(body, Presign) == Presign(notebook_instance_name="nb")


@pytest.mark.parametrize(
    "body", [b"{", b"[]", b'{"Extra": 1}', b'{"SessionExpirationDurationInSeconds": "x"}']
)
def test_proto_json_refuses(body: bytes) -> None:
    with pytest.raises(ServiceError) as caught:
        PROTO_JSON.parse(body, Presign)
    assert caught.value.code.aws == "SerializationException"


def test_proto_json_renders_every_field_without_presence() -> None:
    stamp = Timestamp(seconds=1523050674, nanos=78_000_000)
    rendered = json.loads(
        PROTO_JSON.render(nb.DescribeNotebookInstanceResponse(creation_time=stamp))
    )
    assert rendered["CreationTime"] == "2018-04-06T21:37:54.078Z"
    assert rendered["NotebookInstanceName"] == ""
    assert "LastModifiedTime" not in rendered  # a message field has presence: unset is absent
    assert json.loads(PROTO_JSON.render(nb.ListNotebookInstancesResponse())) == {
        "NextToken": "",
        "NotebookInstances": [],
    }
