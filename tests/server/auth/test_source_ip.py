"""aws:SourceIp and aws:SecureTransport: believed from trusted proxies only."""

from __future__ import annotations

import pytest

from nbpresign.server.auth.source_ip import client_ip, http_caller, is_secure, parse_networks

TRUSTED = parse_networks(["10.0.0.0/8", "fd00::/8"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", None, "203.0.113.9"),  # no header: the peer
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # an untrusted peer names nobody
        ("10.0.0.5", "198.51.100.1", "198.51.100.1"),  # a trusted proxy names the client
        ("10.0.0.5", "198.51.100.1, 10.0.0.4", "198.51.100.1"),  # trusted hops skipped
        ("10.0.0.5", "1.1.1.1, 198.51.100.1", "198.51.100.1"),  # a forged left part is ignored
        ("10.0.0.5", "10.0.0.3, 10.0.0.4", "10.0.0.3"),  # every hop trusted: the first
        ("10.0.0.5", " , ", "10.0.0.5"),  # nothing usable: the peer
        ("10.0.0.5", "not-an-ip", "not-an-ip"),  # passed on; policies' IP tests refuse it
        ("fd00::1", "2001:db8::7", "2001:db8::7"),
    ],
)
def test_client_ip(peer: str, forwarded: str | None, expected: str) -> None:
    assert client_ip(peer, forwarded, TRUSTED) == expected


@pytest.mark.parametrize(
    ("scheme", "peer", "proto", "expected"),
    [
        ("https", "203.0.113.9", None, True),  # our own TLS
        ("http", "203.0.113.9", "https", False),  # anyone may say https
        ("http", "10.0.0.5", "https", True),  # a trusted proxy's word for it
        ("http", "10.0.0.5", "http", False),
    ],
)
def test_is_secure(scheme: str, peer: str, proto: str | None, expected: bool) -> None:
    assert is_secure(scheme, peer, proto, TRUSTED) is expected


def test_http_caller_reads_both_headers_case_insensitively() -> None:
    from multidict import CIMultiDict

    headers = CIMultiDict({"x-forwarded-for": "198.51.100.1", "X-FORWARDED-PROTO": "https"})
    assert http_caller("10.0.0.5", headers, "http", TRUSTED) == ("198.51.100.1", True)
    assert http_caller("203.0.113.9", headers, "http", TRUSTED) == ("203.0.113.9", False)
    assert http_caller("10.0.0.5", headers, "http", ()) == ("10.0.0.5", False)
