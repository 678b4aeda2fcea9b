"""Who is calling, and from where: what every transport hands the core."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


def new_request_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class CallContext:
    """The caller as the transport established it.

    `principal` is the caller's ARN once authentication exists (None: anonymous);
    `source_ip` is the address the request came from, as the transport saw it.
    """

    source_ip: str
    principal: str | None = None
    request_id: str = field(default_factory=new_request_id)
