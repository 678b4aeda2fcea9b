"""Errors the core raises, carrying the AWS error code and the gRPC code.

    ServiceError(code, message, status, violations)
      code        the AWS error code, e.g. "ValidationException"
      status      the gRPC status code it travels as
      violations  one FieldViolation per failed field constraint

`nbpresign.server.rpc_status` turns a ServiceError into a rich gRPC status and back;
`nbpresign.server.gateway.errors` turns it into an AWS JSON error. Nothing else
converts errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grpc import StatusCode


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class ServiceError(Exception):
    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: StatusCode = StatusCode.INVALID_ARGUMENT,
        violations: Sequence[FieldViolation] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.violations = tuple(violations)

    def __repr__(self) -> str:
        return f"ServiceError({self.code!r}, {self.message!r}, status={self.status.name})"


def validation_error(
    message: str,
    *,
    status: StatusCode = StatusCode.INVALID_ARGUMENT,
    violations: Sequence[FieldViolation] = (),
) -> ServiceError:
    return ServiceError("ValidationException", message, status=status, violations=violations)


def record_not_found() -> ServiceError:
    # SageMaker's exact answer for a missing notebook instance.
    return validation_error("RecordNotFound", status=StatusCode.NOT_FOUND)


def internal_failure() -> ServiceError:
    return ServiceError(
        "InternalFailure",
        "The request processing has failed because of an unknown error.",
        status=StatusCode.INTERNAL,
    )
