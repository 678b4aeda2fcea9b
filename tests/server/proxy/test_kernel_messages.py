"""Kernel messages in both binary layouts: scrubbed part by part, framed again, and read
back by jupyter_server's own deserializers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from jupyter_server.services.kernels.connection import base

from nbpresign.server.proxy.kernel_messages import KERNEL_PROTOCOL, LAYOUTS, scrub_binary
from nbpresign.server.proxy.scrub import Scrubber

TOKEN = "+/secret-token=="

# jupyter_server's own (untyped) framing, the reference the proxy's must agree with.
serialize_msg_to_ws_v1: Callable[[list[bytes], str], bytes] = base.serialize_msg_to_ws_v1
deserialize_msg_from_ws_v1: Callable[[bytes], tuple[str, list[bytes]]] = (
    base.deserialize_msg_from_ws_v1
)
serialize_binary_message: Callable[[dict[str, Any]], bytes] = base.serialize_binary_message
deserialize_binary_message: Callable[[bytes], dict[str, Any]] = base.deserialize_binary_message


def parts_with_token() -> list[bytes]:
    return [
        json.dumps({"msg_type": "stream", "session": "s"}).encode(),
        json.dumps({}).encode(),
        json.dumps({"note": TOKEN}).encode(),
        json.dumps({"name": "stdout", "text": f"the token is {TOKEN}\n"}).encode(),
        b"\x00binary buffer " + TOKEN.encode() + b"\xff",
    ]


def test_a_v1_message_is_scrubbed_and_framed_again() -> None:
    message = serialize_msg_to_ws_v1(parts_with_token(), "iopub")
    out = scrub_binary(message, KERNEL_PROTOCOL, Scrubber(TOKEN).whole)
    channel, parts = deserialize_msg_from_ws_v1(out)
    assert channel == "iopub"
    assert TOKEN.encode() not in out
    assert json.loads(parts[3]) == {"name": "stdout", "text": "the token is \n"}
    assert parts[4] == b"\x00binary buffer \xff"
    assert len(parts) == 5


def test_a_legacy_message_is_scrubbed_and_framed_again() -> None:
    message = serialize_binary_message(
        {
            "header": {"msg_id": "1"},
            "parent_header": {},
            "content": {"data": {"text/plain": TOKEN}},
            "buffers": [TOKEN.encode() + b"\x01\x02"],
        }
    )
    out = scrub_binary(message, "", Scrubber(TOKEN).whole)
    read = deserialize_binary_message(out)
    assert read["content"] == {"data": {"text/plain": ""}}
    assert read["buffers"] == [b"\x01\x02"]


def test_a_message_without_the_token_is_passed_as_it_is() -> None:
    message = serialize_msg_to_ws_v1([b"{}", b"{}", b"{}", b"{}"], "shell")
    assert scrub_binary(message, KERNEL_PROTOCOL, Scrubber(TOKEN).whole) is message


@pytest.mark.parametrize(
    ("protocol", "data"),
    [
        (KERNEL_PROTOCOL, b"not a kernel message " + TOKEN.encode()),
        ("", b"\x00\x00\x00\x01" + TOKEN.encode()),  # an offset that does not fit
        ("some.other.protocol", TOKEN.encode()),
        (KERNEL_PROTOCOL, b""),
    ],
)
def test_anything_else_is_scrubbed_whole(protocol: str, data: bytes) -> None:
    assert scrub_binary(data, protocol, Scrubber(TOKEN).whole) == data.replace(TOKEN.encode(), b"")


@pytest.mark.parametrize("protocol", sorted(LAYOUTS))
def test_split_and_join_are_inverse(protocol: str) -> None:
    layout = LAYOUTS[protocol]
    parts = [b"a", b"", b"ccc", b"\x00" * 9]
    joined = layout.join(parts)
    assert layout.split(joined) == parts
    assert layout.join(layout.split(joined) or []) == joined
