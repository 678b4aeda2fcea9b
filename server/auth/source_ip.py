"""The caller's address: the TCP peer, or, behind trusted proxies, the client they name.

X-Forwarded-For is read from the right: each hop a trusted proxy appended is skipped,
and the first address not trusted is the client. From any other peer the header is
ignored, so nobody can choose their own aws:SourceIp by sending it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v, strict=False) for v in values)


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == n.version and ip in n for n in trusted)


def client_ip(peer: str, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """client_ip("10.0.0.5", "203.0.113.9, 10.0.0.4", [10.0.0.0/8]) -> "203.0.113.9"."""
    if not forwarded_for or not _trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def is_secure(
    scheme: str, peer: str, forwarded_proto: str | None, trusted: Sequence[Network]
) -> bool:
    """Whether the client's own connection was TLS: ours, or a trusted proxy's word for it."""
    if scheme == "https":
        return True
    return forwarded_proto == "https" and _trusted(peer, trusted)


def http_caller(
    peer: str, headers: Mapping[str, str], scheme: str, trusted: Sequence[Network]
) -> tuple[str, bool]:
    """An HTTP request's (aws:SourceIp, aws:SecureTransport); `headers` case-insensitive."""
    return (
        client_ip(peer, headers.get("X-Forwarded-For"), trusted),
        is_secure(scheme, peer, headers.get("X-Forwarded-Proto"), trusted),
    )
