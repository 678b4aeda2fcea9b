"""Keeps the Jupyter server's token out of what the browser receives.

JupyterLab 4 writes the server's token into every page's config ("token": "...") and
Jupyter Server into `data-jupyter-api-token`; the proxy authenticates to Jupyter itself,
so the browser never needs it. Text responses are streamed through a Scrubber that
removes every occurrence, including one split across chunks.
"""

from __future__ import annotations

# Content types whose bodies are scrubbed: anything a browser may read as text.
TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml")


def is_text(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind.startswith(TEXT_TYPES) or kind.endswith("+json") or kind.endswith("+xml")


class Scrubber:
    """Scrubber(b"tok").feed(b"a to") + .feed(b"k b") + .flush() == b"a  b"."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()
        self._held = b""

    def feed(self, chunk: bytes) -> bytes:
        if not self._secret:
            return chunk
        data = self._held + chunk
        while self._secret in data:  # removing one may join the halves of another
            data = data.replace(self._secret, b"")
        # Hold back what could be the start of the secret, finished by the next chunk.
        keep = len(self._secret) - 1
        cut = len(data) - keep if keep else len(data)
        self._held = data[cut:] if cut > 0 else data
        return data[:cut] if cut > 0 else b""

    def flush(self) -> bytes:
        held, self._held = self._held, b""
        return held

    def text(self, value: str) -> str:
        return value.replace(self._secret.decode(), "") if self._secret else value
