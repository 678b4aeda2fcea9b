"""Every error this service answers, in one table, and the exception that carries one.

    ServiceError
      .code        an ErrorCode of the table below
      .message     the text, in AWS's words where AWS has words for it
      .violations  one FieldViolation per failed field constraint

    ErrorCode(aws, grpc, http, retryable)
      aws          the AWS error code ("ValidationException"); what `__type` and
                   ErrorInfo.reason carry, and what clients branch on
      grpc         the gRPC status the error travels as
      http         the HTTP status over AWS JSON (botocore retries 500/502/503/504)
      retryable    whether sending the same request again later may succeed

Errors are built from the table, fresh for every failure: `RECORD_NOT_FOUND("RecordNotFound")`.
An exception instance is never kept and raised twice (its traceback would grow with every
raise, and it would be state shared between requests).

One AWS code can travel as several gRPC statuses (SageMaker answers a missing instance and
a wrong status both as ValidationException; gRPC tells them apart), so the table is keyed
by meaning, not by AWS code. `nbpresign.common.rpc_status` turns errors into rich gRPC
statuses and back; the gateway renders them per dialect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grpc import StatusCode


@dataclass(frozen=True)
class FieldViolation:
    field: str  # the proto field name, e.g. "notebook_instance_name"
    description: str


@dataclass(frozen=True)
class ErrorCode:
    aws: str
    grpc: StatusCode
    http: int
    retryable: bool = False

    def __call__(self, message: str, *, violations: Sequence[FieldViolation] = ()) -> ServiceError:
        return ServiceError(self, message, violations=violations)


class ServiceError(Exception):
    def __init__(
        self, code: ErrorCode, message: str, *, violations: Sequence[FieldViolation] = ()
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.violations = tuple(violations)

    @property
    def status(self) -> StatusCode:
        return self.code.grpc

    def __repr__(self) -> str:
        return f"ServiceError({self.code.aws!r}, {self.message!r}, status={self.code.grpc.name})"


_S = StatusCode

# --- the request itself ----------------------------------------------------------------
# A field constraint failed, or the request contradicts itself.
VALIDATION = ErrorCode("ValidationException", _S.INVALID_ARGUMENT, 400)
# SageMaker answers a missing instance with ValidationException "RecordNotFound".
RECORD_NOT_FOUND = ErrorCode("ValidationException", _S.NOT_FOUND, 400)
# The instance's status does not allow the operation: the same request cannot succeed
# until something else changes the status (so FAILED_PRECONDITION, not UNAVAILABLE).
WRONG_STATUS = ErrorCode("ValidationException", _S.FAILED_PRECONDITION, 400)
# SageMaker: "Cannot create a duplicate Notebook Instance (ARN)".
DUPLICATE_INSTANCE = ErrorCode("ValidationException", _S.ALREADY_EXISTS, 400)
# The body is not JSON, not an object, a member has the wrong type, or is unknown.
SERIALIZATION = ErrorCode("SerializationException", _S.INVALID_ARGUMENT, 400)
# No such X-Amz-Target (or RPC).
UNKNOWN_OPERATION = ErrorCode("UnknownOperationException", _S.UNIMPLEMENTED, 400)
# A REST path no route matches: grpc-gateway's NOT_FOUND.
NO_ROUTE = ErrorCode("UnknownOperationException", _S.NOT_FOUND, 404)
# A REST path some route matches, with a method none takes: UNIMPLEMENTED as in
# grpc-gateway, but HTTP 405 with Allow rather than its 501 (a server fault to clients).
METHOD_NOT_ALLOWED = ErrorCode("MethodNotAllowedException", _S.UNIMPLEMENTED, 405)
# Refused from its Content-Length, before the body is read.
REQUEST_TOO_LARGE = ErrorCode("RequestEntityTooLargeException", _S.INVALID_ARGUMENT, 413)
# The headers or body did not arrive in time.
REQUEST_TIMEOUT = ErrorCode("RequestTimeoutException", _S.DEADLINE_EXCEEDED, 408, True)

# --- who is asking ---------------------------------------------------------------------
# No Authorization header (or metadata) at all.
MISSING_AUTHENTICATION = ErrorCode("MissingAuthenticationToken", _S.UNAUTHENTICATED, 403)
# An Authorization that cannot be parsed, or lacks X-Amz-Date.
INCOMPLETE_SIGNATURE = ErrorCode("IncompleteSignature", _S.UNAUTHENTICATED, 400)
# A wrong signature, scope or clock (AWS says "Signature expired" with this code too).
INVALID_SIGNATURE = ErrorCode("InvalidSignatureException", _S.UNAUTHENTICATED, 400)
# An unknown or deleted access key.
UNRECOGNIZED_CLIENT = ErrorCode("UnrecognizedClientException", _S.UNAUTHENTICATED, 400)
# A URL or session made for an earlier life of the instance (before a stop, a delete,
# a repoint): AWS's code for credentials that are no longer good.
EXPIRED_TOKEN = ErrorCode("ExpiredTokenException", _S.UNAUTHENTICATED, 400)
# A policy refuses it. SageMaker's older pages say 400, newer AWS pages 403; botocore
# reads the code from the body either way.
ACCESS_DENIED = ErrorCode("AccessDeniedException", _S.PERMISSION_DENIED, 400)
# Too many requests: AWS's JSON services throttle with 400; SDKs retry it by its code.
THROTTLING = ErrorCode("ThrottlingException", _S.RESOURCE_EXHAUSTED, 400, True)

# --- identities (IAM's codes and statuses) ---------------------------------------------
NO_SUCH_ENTITY = ErrorCode("NoSuchEntity", _S.NOT_FOUND, 404)
ENTITY_ALREADY_EXISTS = ErrorCode("EntityAlreadyExists", _S.ALREADY_EXISTS, 409)
# A quota, e.g. two access keys per user.
LIMIT_EXCEEDED = ErrorCode("LimitExceeded", _S.RESOURCE_EXHAUSTED, 409)
MALFORMED_POLICY = ErrorCode("MalformedPolicyDocument", _S.INVALID_ARGUMENT, 400)
# Deleting something others still depend on (a group with members).
DELETE_CONFLICT = ErrorCode("DeleteConflict", _S.FAILED_PRECONDITION, 409)

# --- the service -----------------------------------------------------------------------
# A bug: logged with its request id, never shown.
INTERNAL_FAILURE = ErrorCode("InternalFailure", _S.INTERNAL, 500, True)
# The database (or, for a separate gateway, the core) cannot be reached in time, or the
# service is shutting down: retry, as AWS SDKs do for 503.
SERVICE_UNAVAILABLE = ErrorCode("ServiceUnavailable", _S.UNAVAILABLE, 503, True)

TABLE: tuple[ErrorCode, ...] = tuple(
    v for v in dict(globals()).values() if isinstance(v, ErrorCode)
)

# For a status that carries no ErrorInfo (one grpc itself raised, or a peer that is not
# nbpresign): the code it most likely means.
BY_GRPC_STATUS: dict[StatusCode, ErrorCode] = {
    _S.INVALID_ARGUMENT: VALIDATION,
    _S.NOT_FOUND: RECORD_NOT_FOUND,
    _S.ALREADY_EXISTS: DUPLICATE_INSTANCE,
    _S.FAILED_PRECONDITION: WRONG_STATUS,
    _S.OUT_OF_RANGE: VALIDATION,
    _S.UNAUTHENTICATED: UNRECOGNIZED_CLIENT,
    _S.PERMISSION_DENIED: ACCESS_DENIED,
    _S.RESOURCE_EXHAUSTED: THROTTLING,
    _S.UNIMPLEMENTED: UNKNOWN_OPERATION,
    # The peer is unreachable, overloaded or too slow: retryable, as boto3 treats 503.
    _S.UNAVAILABLE: SERVICE_UNAVAILABLE,
    _S.DEADLINE_EXCEEDED: SERVICE_UNAVAILABLE,
    _S.CANCELLED: SERVICE_UNAVAILABLE,
}


def code_for(aws: str, grpc: StatusCode) -> ErrorCode:
    """The table's entry for an AWS code as it travelled, or one built for it.

    code_for("ValidationException", NOT_FOUND) is RECORD_NOT_FOUND; an AWS code the table
    does not know keeps its name, with the HTTP status of its gRPC status's usual entry.
    """
    for entry in TABLE:
        if entry.aws == aws and entry.grpc == grpc:
            return entry
    usual = BY_GRPC_STATUS.get(grpc, INTERNAL_FAILURE)
    like = next((entry for entry in TABLE if entry.aws == aws), usual)
    if like.grpc == grpc and like.aws == (aws or like.aws):
        return like
    return ErrorCode(aws or like.aws, grpc, like.http, like.retryable)


def internal_failure() -> ServiceError:
    """What a bug looks like from outside: AWS's words, nothing of the cause."""
    return INTERNAL_FAILURE("The request processing has failed because of an unknown error.")
