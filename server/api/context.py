"""Who is calling, and from where: what every transport hands the core."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from nbpresign.common.defaults import REQUEST_ID_HEADER
from nbpresign.server.iam.identities import Principal

__all__ = ["REQUEST_ID_HEADER", "CallContext", "new_request_id"]


def new_request_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class CallContext:
    """The caller as the transport established it.

    `principal`: who signed the request (None: nobody did, and the core refuses it);
    `source_ip`: where it came from (the TCP peer, or the client a trusted proxy names);
    `secure_transport`: whether it arrived over TLS (aws:SecureTransport).
    """

    source_ip: str
    principal: Principal | None = None
    secure_transport: bool = False
