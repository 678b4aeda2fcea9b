"""Keeps the Jupyter server's token out of what the browser receives.

Jupyter Server writes its token into `data-jupyter-api-token` (percent-encoded) and
JupyterLab into its page config (JSON-escaped); the proxy authenticates to Jupyter
itself, so the browser never needs it. Every spelling of the token (server.proxy.spellings)
is removed from status lines, headers, text bodies, and WebSocket messages.

A body is streamed through a Scrubber, which holds back only the bytes a spelling could
still be completing, and never sends a spelling whole: not one split across chunks, nor
one whose halves a removal joins, nor one that joins with bytes it already sent.
"""

from __future__ import annotations

from nbpresign.server.proxy.spellings import Needle, needle_of

# Content types whose bodies are scrubbed: anything a browser may read as text. A body
# with no type at all is scrubbed too: a browser sniffs it.
TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml")
TEXT_SUFFIXES = ("+json", "+xml")


def is_text(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return not kind or kind.startswith(TEXT_TYPES) or kind.endswith(TEXT_SUFFIXES)


def remove(needle: Needle, data: bytes, *, start: int = 0) -> bytes:
    """data[start:] with no spelling left in data; data[:start] was sent and stays.

    remove(needle_of("abc"), b"xaabcbc") -> b"x": removing one may join the halves of
    another. A spelling that begins in data[:start] loses its part after `start`.
    """
    position = 0
    while (found := needle.pattern.search(data, position)) is not None:
        begin = max(found.start(), start)
        if begin >= found.end():  # wholly in what was sent: removed then, so cannot be
            position = found.start() + 1
            continue
        data = data[:begin] + data[found.end() :]
        position = max(0, begin - needle.longest)  # a new one can only span the join
    return data[start:]


class Scrubber:
    """Scrubber("tok").feed(b"a to") + .feed(b"k b") + .flush() == b"a  b"."""

    def __init__(self, secret: str) -> None:
        self._needle = needle_of(secret)
        self._held = b""  # not sent yet: a spelling may still end in the next chunk
        self._sent = b""  # the end of what was sent: a spelling may have begun there

    def feed(self, chunk: bytes) -> bytes:
        if self._needle is None:
            return chunk
        data = remove(self._needle, self._sent + self._held + chunk, start=len(self._sent))
        keep = self._needle.longest - 1
        cut = max(len(data) - keep, 0)
        out, self._held = data[:cut], data[cut:]
        self._sent = (self._sent + out)[-keep:] if keep else b""
        return out

    def flush(self) -> bytes:
        held, self._held = self._held, b""
        return held

    def whole(self, data: bytes) -> bytes:
        """One message, scrubbed on its own."""
        return data if self._needle is None else remove(self._needle, data)

    def text(self, value: str) -> str:
        if self._needle is None:
            return value
        # surrogateescape: header values may hold any byte, and keep it.
        encoded = value.encode("utf-8", "surrogateescape")
        return remove(self._needle, encoded).decode("utf-8", "surrogateescape")
