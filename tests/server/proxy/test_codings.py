"""Undoing Jupyter's content codings chunk by chunk, with bounded output per step."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator

import pytest

from nbpresign.server.proxy.codings import OUTPUT_BYTES, can_decode, codings_of, decoded


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def collect(chunks: AsyncIterator[bytes]) -> list[bytes]:
    return [chunk async for chunk in chunks]


BODY = b"<html>" + b"page config and more " * 5000 + b"</html>"


@pytest.mark.parametrize(
    ("header", "encoded"),
    [
        ("", BODY),
        ("identity", BODY),
        ("gzip", gzip.compress(BODY)),
        ("x-gzip", gzip.compress(BODY)),
        ("deflate", zlib.compress(BODY)),
        ("gzip, gzip", gzip.compress(gzip.compress(BODY))),
        ("deflate, gzip", gzip.compress(zlib.compress(BODY))),
    ],
)
async def test_every_coding_is_undone(header: str, encoded: bytes) -> None:
    assert b"".join(await collect(decoded(chunks_of(encoded, 100), header))) == BODY


async def test_a_small_chunk_never_becomes_a_huge_one() -> None:
    bomb = gzip.compress(b"\x00" * (20 * 1024 * 1024))
    pieces = await collect(decoded(chunks_of(bomb, 64 * 1024), "gzip"))
    assert max(len(p) for p in pieces) <= OUTPUT_BYTES
    assert sum(len(p) for p in pieces) == 20 * 1024 * 1024


@pytest.mark.parametrize(
    ("header", "decodable"),
    [("", True), ("gzip", True), ("GZIP", True), ("br", False), ("gzip, zstd", False)],
)
def test_which_codings_can_be_undone(header: str, decodable: bool) -> None:
    assert can_decode(header) is decodable


def test_codings_in_the_order_applied() -> None:
    assert codings_of("deflate, identity, Gzip") == ["deflate", "gzip"]
