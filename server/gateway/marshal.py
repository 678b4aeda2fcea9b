"""AWS JSON bodies <-> proto messages, through google.protobuf.json_format.

Proto JSON is more lenient than AWS JSON (it takes "1800" for an integer), so a body is
first checked against the message's field types, member by member; then json_format
does the conversion. Timestamps travel as epoch seconds (1523050674.078), as botocore
sends and expects them; json_format's own form for them is an RFC 3339 string.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from nbpresign.common import errors
from nbpresign.common.errors import ServiceError

CONTENT_TYPE = "application/x-amz-json-1.1"
TIMESTAMP = "google.protobuf.Timestamp"

_F = FieldDescriptor


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return _is_int(value) or isinstance(value, float)


# Scalar field type -> (check, the type's name in AWS's messages).
SCALAR_CHECKS: dict[int, tuple[Callable[[object], bool], str]] = {
    _F.TYPE_STRING: (lambda v: isinstance(v, str), "a string"),
    _F.TYPE_BOOL: (lambda v: isinstance(v, bool), "a boolean"),
    _F.TYPE_INT32: (_is_int, "an integer"),
    _F.TYPE_INT64: (_is_int, "an integer"),
    _F.TYPE_UINT32: (_is_int, "an integer"),
    _F.TYPE_UINT64: (_is_int, "an integer"),
    _F.TYPE_DOUBLE: (_is_number, "a number"),
    _F.TYPE_FLOAT: (_is_number, "a number"),
}


def serialization_error(message: str) -> ServiceError:
    return errors.SERIALIZATION(message)


def parse(body: bytes, message_type: type[Message]) -> Message:
    try:
        doc = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise serialization_error("The request body is not valid JSON.") from None
    if not isinstance(doc, dict):
        raise serialization_error("The request body must be a JSON object.")
    checked = _to_proto_json(doc, _descriptor(message_type.DESCRIPTOR), "")
    try:
        return json_format.ParseDict(checked, message_type())
    except json_format.ParseError as exc:
        raise serialization_error(f"The request body could not be read: {exc}") from None


def render(message: Message) -> bytes:
    doc = json_format.MessageToDict(message)
    return json.dumps(_to_aws_json(doc, _descriptor(message.DESCRIPTOR))).encode()


def _descriptor(descriptor: Any) -> Descriptor:
    # Message classes expose the upb descriptor type; to us both are the same.
    return cast(Descriptor, descriptor)


def _message_type(field: FieldDescriptor) -> Descriptor:
    assert field.message_type is not None  # only called for TYPE_MESSAGE fields
    return field.message_type


def _to_proto_json(doc: dict[str, Any], descriptor: Descriptor, path: str) -> dict[str, Any]:
    fields = {f.json_name: f for f in descriptor.fields}
    out: dict[str, Any] = {}
    for member, value in doc.items():
        field = fields.get(member)
        where = f"{path}{member}"
        if field is None:
            raise serialization_error(f"Unknown member '{where}' for {descriptor.name}.")
        if value is None:  # AWS JSON: null is the same as absent
            continue
        if field.is_repeated:
            if not isinstance(value, list):
                raise serialization_error(f"Member '{where}' must be a list.")
            out[member] = [_value_in(v, field, f"{where}[{i}]") for i, v in enumerate(value)]
        else:
            out[member] = _value_in(value, field, where)
    return out


def _value_in(value: Any, field: FieldDescriptor, where: str) -> Any:
    if field.type == _F.TYPE_MESSAGE:
        if _message_type(field).full_name == TIMESTAMP:
            return _timestamp_in(value, where)
        if not isinstance(value, dict):
            raise serialization_error(f"Member '{where}' must be an object.")
        return _to_proto_json(value, _message_type(field), f"{where}.")
    check, kind = SCALAR_CHECKS.get(field.type, (lambda v: True, "a value"))
    if not check(value):
        raise serialization_error(f"Member '{where}' must be {kind}, not {json.dumps(value)}.")
    return value


def _timestamp_in(value: Any, where: str) -> str:
    if not _is_number(value):
        raise serialization_error(f"Member '{where}' must be a timestamp in epoch seconds.")
    try:
        return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        raise serialization_error(f"Member '{where}' is out of range.") from None


def _to_aws_json(doc: dict[str, Any], descriptor: Descriptor) -> dict[str, Any]:
    fields = {f.json_name: f for f in descriptor.fields}
    for member, value in doc.items():
        field = fields[member]
        if field.type != _F.TYPE_MESSAGE:
            continue
        if field.is_repeated:
            doc[member] = [_value_out(v, field) for v in value]
        else:
            doc[member] = _value_out(value, field)
    return doc


def _value_out(value: Any, field: FieldDescriptor) -> Any:
    if _message_type(field).full_name == TIMESTAMP:
        return datetime.fromisoformat(value).timestamp()
    return _to_aws_json(value, _message_type(field))
