"""Content codings the proxy can undo, to scrub a text body Jupyter sent compressed.

Jupyter compresses only when asked and the proxy never asks (headers.REQUEST_REPLACED),
but an extension may serve a pre-compressed file as it is. A text body in a coding not
here cannot be searched for the token, so it is not passed on (forward_http: 502).
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Callable
from typing import Protocol

OUTPUT_BYTES = 64 * 1024  # at most this much decompressed at a time, whatever the ratio


class Decompressor(Protocol):
    @property
    def unconsumed_tail(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int = ..., /) -> bytes: ...

    def flush(self, length: int = ..., /) -> bytes: ...


# Content-Encoding token -> a decompressor for it (RFC 9110 8.4.1).
DECOMPRESSORS: dict[str, Callable[[], Decompressor]] = {
    "gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    "x-gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    "deflate": lambda: zlib.decompressobj(),  # "deflate" in HTTP is the zlib format
}


def codings_of(header: str) -> list[str]:
    """codings_of("gzip, identity") -> ["gzip"], in the order they were applied."""
    names = (c.strip().lower() for c in header.split(","))
    return [name for name in names if name and name != "identity"]


def can_decode(header: str) -> bool:
    return all(name in DECOMPRESSORS for name in codings_of(header))


async def decoded(chunks: AsyncIterator[bytes], header: str) -> AsyncIterator[bytes]:
    """The body with every coding in `header` undone (last applied, first undone)."""
    for name in reversed(codings_of(header)):
        chunks = _decompressed(chunks, DECOMPRESSORS[name])
    async for chunk in chunks:
        yield chunk


async def _decompressed(
    chunks: AsyncIterator[bytes], make: Callable[[], Decompressor]
) -> AsyncIterator[bytes]:
    decompressor = make()
    async for chunk in chunks:
        data = chunk
        while data:
            out = decompressor.decompress(data, OUTPUT_BYTES)
            data = decompressor.unconsumed_tail
            if out:
                yield out
    rest = decompressor.flush()
    if rest:
        yield rest
