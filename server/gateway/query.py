"""Query parameters and path variables -> request fields, as grpc-gateway fills them.

    ?max_results=10&SortBy=Name      fields by proto name or JSON name
    ?x=1&x=2                         a repeated field, one parameter per element
    ?filter.status=InService         a nested message's field, by a dotted path
    ?creation_time_after=2026-01-01T00:00:00Z     a Timestamp in RFC 3339

Each value is converted as proto JSON converts a string for that field type (through
json_format, so integers, enums by name, Timestamps and bytes behave alike everywhere),
except booleans, which proto JSON takes only unquoted: here `true`/`false` (or 1/0).
Unlike grpc-gateway, an unknown parameter is refused, as AWS JSON refuses an unknown
member: a misspelt filter must not silently list everything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from nbpresign.common import errors
from nbpresign.common.errors import ServiceError

_F = FieldDescriptor
_BOOLS = {"true": True, "false": False, "1": True, "0": False}
# Message types a single string stands for (their proto JSON form is a string).
STRING_MESSAGES = frozenset(
    {
        "google.protobuf.Timestamp",
        "google.protobuf.Duration",
        "google.protobuf.FieldMask",
        "google.protobuf.StringValue",
        "google.protobuf.Int32Value",
        "google.protobuf.Int64Value",
        "google.protobuf.BoolValue",
    }
)


def bad_parameter(message: str) -> ServiceError:
    return errors.SERIALIZATION(message)


def resolve(descriptor: Descriptor, path: str) -> list[FieldDescriptor]:
    """The fields a dotted path names, by proto or JSON name; raises for an unknown one."""
    fields: list[FieldDescriptor] = []
    current: Descriptor | None = descriptor
    for name in path.split("."):
        field = _field_named(current, name) if current is not None else None
        if field is None:
            raise bad_parameter(f"Unknown parameter '{path}' for {descriptor.name}.")
        fields.append(field)
        current = field.message_type if is_nested_message(field) else None
    return fields


def _field_named(descriptor: Descriptor, name: str) -> FieldDescriptor | None:
    return descriptor.fields_by_name.get(name) or next(
        (f for f in descriptor.fields if f.json_name == name), None
    )


def is_nested_message(field: FieldDescriptor) -> bool:
    return (
        field.message_type is not None
        and not field.is_repeated
        and field.message_type.full_name not in STRING_MESSAGES
    )


def _descriptor(message: Message) -> Descriptor:
    # Messages expose the upb descriptor type; to us both are the same.
    return cast(Descriptor, message.DESCRIPTOR)


def set_field(message: Message, path: str, values: Sequence[str]) -> None:
    """Sets the field `path` names from its string values."""
    fields = resolve(_descriptor(message), path)
    parent = message
    for field in fields[:-1]:
        parent = getattr(parent, field.name)
    leaf = fields[-1]
    if leaf.message_type is not None and leaf.message_type.GetOptions().map_entry:
        raise bad_parameter(f"Parameter '{path}' is a map, which a query cannot set.")
    if is_nested_message(leaf):
        raise bad_parameter(f"Parameter '{path}' is a message: set its fields ('{path}.x').")
    if not leaf.is_repeated and len(values) > 1:
        raise bad_parameter(f"Parameter '{path}' takes one value, not {len(values)}.")
    converted = [_convert(value, leaf, path) for value in values]
    doc = {leaf.json_name: converted if leaf.is_repeated else converted[0]}
    try:
        json_format.ParseDict(doc, parent)
    except json_format.ParseError:
        raise bad_parameter(f"Parameter '{path}' has a bad value.") from None


def _convert(value: str, field: FieldDescriptor, path: str) -> object:
    if field.type != _F.TYPE_BOOL:
        return value
    if value.lower() not in _BOOLS:
        raise bad_parameter(f"Parameter '{path}' must be true or false, not '{value}'.")
    return _BOOLS[value.lower()]


def populate(
    message: Message, params: Iterable[tuple[str, str]], *, bound: Iterable[str] = ()
) -> None:
    """Sets each parameter's field. `bound`: the field paths (proto names) the path or
    the body sets, which a parameter may not set again."""
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        grouped.setdefault(name, []).append(value)
    taken = tuple(bound)
    for name, values in grouped.items():
        path = ".".join(f.name for f in resolve(_descriptor(message), name))
        if any(_overlaps(path, other) for other in taken):
            raise bad_parameter(f"Parameter '{name}' is given by the path or the body.")
        set_field(message, name, values)


def _overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")
