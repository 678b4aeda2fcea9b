from __future__ import annotations

import pytest

from nbpresign.common.errors import ServiceError
from nbpresign.server.gateway import marshal
from nbpresign.server.gateway.nesting import MAX_DEPTH, nesting_depth
from nbpresign.v1 import notebook_instances_pb2 as nb


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b"", 0),
        (b"1", 0),
        (b"{}", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b"[][][]", 1),
        (b'["[[[[", "]]", "\\"[["]', 1),  # brackets in strings, escaped quotes included
        (b"]]]", 0),
        (b"[" * 5000, 5000),  # unclosed: json would recurse just the same
        (b"[" * 1001 + b"]" * 1001, 1001),
    ],
)
def test_nesting_depth(body: bytes, depth: int) -> None:
    assert nesting_depth(body) == depth


def nested(levels: int) -> bytes:
    return b'{"NameContains": ' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}"


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 1001, 100_000])
def test_deep_json_is_a_serialization_error(levels: int) -> None:
    with pytest.raises(ServiceError) as caught:
        marshal.parse(nested(levels), nb.ListNotebookInstancesRequest)
    assert (caught.value.code.aws, caught.value.message) == (
        "SerializationException",
        f"The request body nests deeper than {MAX_DEPTH} levels.",
    )


def test_as_deep_as_allowed_reaches_the_member_checks() -> None:
    with pytest.raises(ServiceError) as caught:
        marshal.parse(nested(MAX_DEPTH), nb.ListNotebookInstancesRequest)
    assert caught.value.message.startswith("Member 'NameContains' must be a string, not [[[")
