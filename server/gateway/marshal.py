"""Bodies <-> proto messages, one Marshaler per content type, through json_format.

    MARSHALERS[AWS_JSON]     application/x-amz-json-1.1, the X-Amz-Target dialect
    MARSHALERS[PROTO_JSON]   application/json, the REST dialect (grpc-gateway's JSONPb)

AWS JSON: proto JSON is more lenient than AWS JSON (it takes "1800" for an integer), so
a body is first checked against the message's field types, member by member; then
json_format does the conversion. Timestamps travel as epoch seconds (1523050674.078), as
botocore sends and expects them; json_format's own form for them is an RFC 3339 string.
Every list member is sent, empty too, as AWS does (SDKs read an absent list as undefined).

Proto JSON: json_format both ways, unknown fields refused; responses carry every field
without presence (grpc-gateway's EmitUnpopulated), so a client sees 0, "" and [].
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol, cast

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from nbpresign.common import errors
from nbpresign.common.errors import ServiceError
from nbpresign.server.gateway.nesting import MAX_DEPTH, nesting_depth

AWS_JSON = "application/x-amz-json-1.1"
PROTO_JSON = "application/json"
CONTENT_TYPE = AWS_JSON  # the X-Amz-Target dialect's
TIMESTAMP = "google.protobuf.Timestamp"


class Marshaler(Protocol):
    """Reads a request body into a message and writes a response message as a body."""

    content_type: str

    def parse(self, body: bytes, message_type: type[Message]) -> Message: ...

    def render(self, message: Message) -> bytes: ...


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


def load_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; an empty body is an empty object."""
    if nesting_depth(body) > MAX_DEPTH:
        raise serialization_error(f"The request body nests deeper than {MAX_DEPTH} levels.")
    try:
        doc = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise serialization_error("The request body is not valid JSON.") from None
    if not isinstance(doc, dict):
        raise serialization_error("The request body must be a JSON object.")
    return doc


def _parse_dict(doc: dict[str, Any], message_type: type[Message]) -> Message:
    try:
        return json_format.ParseDict(doc, message_type())
    except json_format.ParseError as exc:
        raise serialization_error(f"The request body could not be read: {exc}") from None


def parse(body: bytes, message_type: type[Message]) -> Message:
    """AWS JSON -> message."""
    checked = _to_proto_json(load_object(body), _descriptor(message_type.DESCRIPTOR), "")
    return _parse_dict(checked, message_type)


def render(message: Message) -> bytes:
    """Message -> AWS JSON."""
    doc = json_format.MessageToDict(message)
    return json.dumps(_to_aws_json(doc, _descriptor(message.DESCRIPTOR))).encode()


class AwsJson:
    content_type = AWS_JSON

    def parse(self, body: bytes, message_type: type[Message]) -> Message:
        return parse(body, message_type)

    def render(self, message: Message) -> bytes:
        return render(message)


class ProtoJson:
    content_type = PROTO_JSON

    def parse(self, body: bytes, message_type: type[Message]) -> Message:
        return _parse_dict(load_object(body), message_type)

    def render(self, message: Message) -> bytes:
        doc = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
        return json.dumps(doc).encode()


MARSHALERS: dict[str, Marshaler] = {AWS_JSON: AwsJson(), PROTO_JSON: ProtoJson()}


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
    for field in descriptor.fields:
        member = field.json_name
        if field.is_repeated and member not in doc:
            doc[member] = {} if _is_map(field) else []  # AWS sends empty lists too
        elif member not in doc or field.type != _F.TYPE_MESSAGE or _is_map(field):
            continue
        elif field.is_repeated:
            doc[member] = [_value_out(v, field) for v in doc[member]]
        else:
            doc[member] = _value_out(doc[member], field)
    return doc


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _value_out(value: Any, field: FieldDescriptor) -> Any:
    if _message_type(field).full_name == TIMESTAMP:
        return datetime.fromisoformat(value).timestamp()
    return _to_aws_json(value, _message_type(field))
