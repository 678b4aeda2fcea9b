"""The one exception the clients raise, converted from the call's rich gRPC status."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import grpc

from nbpresign.common.errors import FieldViolation
from nbpresign.common.rpc_status import from_rpc_status, status_of


class NbpresignError(Exception):
    """code: the AWS error code ("ValidationException"); grpc_code: the gRPC status;
    retryable: whether the same call may succeed later (throttling, unavailable)."""

    def __init__(
        self,
        code: str,
        message: str,
        grpc_code: grpc.StatusCode,
        violations: tuple[FieldViolation, ...] = (),
        *,
        retryable: bool = False,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.grpc_code = grpc_code
        self.violations = violations
        self.retryable = retryable


def from_rpc_error(exc: grpc.RpcError) -> NbpresignError:
    """Works for sync (grpc.RpcError that is also a grpc.Call) and aio errors alike."""
    error = from_rpc_status(status_of(exc))
    return NbpresignError(
        error.code.aws,
        error.message,
        error.status,
        error.violations,
        retryable=error.code.retryable,
    )


@contextlib.contextmanager
def rpc_errors() -> Iterator[None]:
    """Turns a failed gRPC call inside the block into NbpresignError."""
    try:
        yield
    except grpc.RpcError as exc:
        raise from_rpc_error(exc) from None
