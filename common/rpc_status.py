"""ServiceError <-> rich gRPC status (google.rpc.Status with ErrorInfo and BadRequest).

The ErrorInfo's reason is the AWS error code, so whoever receives the status (the
gateway, the Python client, a stub in another language) maps it without parsing text.
"""

from __future__ import annotations

from typing import cast

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2

from nbpresign.common.errors import FieldViolation, ServiceError, code_for

ERROR_DOMAIN = "nbpresign.v1"
STATUS_DETAILS_KEY = "grpc-status-details-bin"  # where gRPC carries a rich status


def to_rpc_status(error: ServiceError) -> status_pb2.Status:
    info = error_details_pb2.ErrorInfo(reason=error.code.aws, domain=ERROR_DOMAIN)
    details = [_pack(info)]
    if error.violations:
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in error.violations
            ]
        )
        details.append(_pack(bad_request))
    return status_pb2.Status(code=error.status.value[0], message=error.message, details=details)


def from_rpc_status(status: status_pb2.Status) -> ServiceError:
    """The inverse of to_rpc_status; a status without ErrorInfo maps by its gRPC code."""
    reason = ""
    violations: list[FieldViolation] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            violations.extend(
                FieldViolation(v.field, v.description) for v in bad_request.field_violations
            )
    code = code_for(reason, status_code(status.code))
    return ServiceError(code, status.message, violations=violations)


def status_of(error: grpc.RpcError) -> status_pb2.Status:
    """The rich status a failed call carried, or a plain one built from its code.

    Works for the sync client's errors and for grpc.aio.AioRpcError alike.
    """
    call = cast(grpc.Call, error)
    for key, value in call.trailing_metadata() or ():
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            try:
                return status_pb2.Status.FromString(value)
            except DecodeError:
                break  # a peer's garbage: fall back to the plain code
    return status_pb2.Status(code=call.code().value[0], message=call.details() or "")


_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}


def status_code(value: int) -> grpc.StatusCode:
    return _BY_NUMBER.get(value, grpc.StatusCode.UNKNOWN)


def _pack(message: error_details_pb2.ErrorInfo | error_details_pb2.BadRequest) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed
