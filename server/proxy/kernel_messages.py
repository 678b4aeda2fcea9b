"""The binary layouts of Jupyter's kernel WebSocket messages, so that each part can be
scrubbed and the message framed again with its new lengths.

From jupyter_server's services/kernels/connection/base.py:

    v1.kernel.websocket.jupyter.org   count (8 bytes, little-endian) of the offsets that
                                      follow, each 8 bytes; parts: channel, header,
                                      parent_header, metadata, content, buffers...;
                                      the last offset is where the last part ends
    no subprotocol                    count (4 bytes, big-endian) of parts, an offset
                                      (4 bytes) for each; parts: the JSON message, buffers
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

KERNEL_PROTOCOL = "v1.kernel.websocket.jupyter.org"


@dataclass(frozen=True)
class Layout:
    width: int  # bytes in the count and in each offset
    byteorder: Literal["little", "big"]
    end_listed: bool  # whether the offsets include where the last part ends

    def split(self, data: bytes) -> list[bytes] | None:
        """The parts, or None if data is not a message in this layout."""
        count = int.from_bytes(data[: self.width], self.byteorder)
        header = self.width * (count + 1)
        if len(data) < self.width or count == 0 or header > len(data):
            return None
        offsets = [
            int.from_bytes(data[self.width * i : self.width * (i + 1)], self.byteorder)
            for i in range(1, count + 1)
        ]
        if not self.end_listed:
            offsets.append(len(data))
        if offsets[0] != header or offsets[-1] != len(data):
            return None
        if any(start > end for start, end in pairwise(offsets)):
            return None
        return [data[start:end] for start, end in pairwise(offsets)]

    def join(self, parts: list[bytes]) -> bytes:
        count = len(parts) + 1 if self.end_listed else len(parts)
        offsets = [self.width * (count + 1)]
        for part in parts:
            offsets.append(offsets[-1] + len(part))
        if not self.end_listed:
            offsets.pop()
        head = [n.to_bytes(self.width, self.byteorder) for n in (count, *offsets)]
        return b"".join([*head, *parts])


# The negotiated subprotocol -> the layout of its binary messages.
LAYOUTS: dict[str, Layout] = {
    KERNEL_PROTOCOL: Layout(8, "little", end_listed=True),
    "": Layout(4, "big", end_listed=False),
}


def scrub_binary(data: bytes, protocol: str, scrub: Callable[[bytes], bytes]) -> bytes:
    """Each part scrubbed, lengths framed again; not a kernel message: scrubbed whole."""
    layout = LAYOUTS.get(protocol)
    parts = layout.split(data) if layout is not None else None
    if layout is None or parts is None:
        return scrub(data)
    scrubbed = [scrub(part) for part in parts]
    return data if scrubbed == parts else layout.join(scrubbed)
