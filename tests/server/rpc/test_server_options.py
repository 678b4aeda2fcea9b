"""gRPC's channel arguments from the service's limits."""

from __future__ import annotations

from nbpresign.server.rpc.server import server_options


def test_limits_become_channel_arguments() -> None:
    options = dict(
        server_options(reuse_port=True, max_connections=300, idle_timeout=75, handshake_timeout=2.5)
    )
    assert options["grpc.so_reuseport"] == 1
    assert options["grpc.max_allowed_incoming_connections"] == 300
    assert options["grpc.max_connection_idle_ms"] == 75_000
    assert options["grpc.server_handshake_timeout_ms"] == 2_500
    assert options["grpc.max_concurrent_streams"] == 100


def test_unset_limits_leave_grpc_defaults() -> None:
    options = dict(server_options())
    assert options["grpc.so_reuseport"] == 0  # a taken port is an error without --workers
    for name in (
        "grpc.max_allowed_incoming_connections",
        "grpc.max_connection_idle_ms",
        "grpc.server_handshake_timeout_ms",
    ):
        assert name not in options
