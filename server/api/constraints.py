"""Checks a request message against the (nbpresign.v1.constraints) field options.

The messages follow SageMaker's wording, for example:
    Value 'a_b' at 'notebookInstanceName' failed to satisfy constraint:
    Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*

One rule holds for every string of every request, constrained or not, nested, repeated
and map entries included: no NUL character. Nothing a caller means contains one,
PostgreSQL cannot store one in text, and C-based tools downstream would cut the string at
it.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections.abc import Iterator, Mapping
from functools import cache

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from nbpresign.common import errors
from nbpresign.common.errors import FieldViolation
from nbpresign.v1 import constraints_pb2

Constraints = constraints_pb2.FieldConstraints


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    # AWS patterns mean ASCII \w and \d, and Java's Unicode classes \p{L}, \p{Z}, \p{N},
    # which the stdlib re lacks: they become explicit ranges.
    return re.compile(UNICODE_CLASS.sub(lambda m: _ranges(m[1]), pattern), re.ASCII)


# \p{X} (inside a character class): Unicode general category X, e.g. L (letters).
UNICODE_CLASS = re.compile(r"\\p\{([A-Z][a-z]?)\}")


@cache
def _ranges(category: str) -> str:
    """_ranges("Nd") -> "\\U00000030-\\U00000039...": the code points of a general
    category, as character-class ranges (escaped, so none is a metacharacter)."""
    runs: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code)).startswith(category):
            if runs and runs[-1][1] == code - 1:
                runs[-1] = (runs[-1][0], code)
            else:
                runs.append((code, code))
    return "".join(_escaped(a) if a == b else f"{_escaped(a)}-{_escaped(b)}" for a, b in runs)


def _escaped(code: int) -> str:
    return f"\\U{code:08x}"


NONE = Constraints()  # what an unconstrained field must satisfy: the rules for all strings
NUL = "\x00"
NO_NUL = "Member must not contain null characters"


@cache
def _fields(descriptor: Descriptor) -> tuple[tuple[FieldDescriptor, Constraints], ...]:
    """Every field, with its constraints (NONE if it has none)."""
    found = []
    for field in descriptor.fields:
        options = field.GetOptions()
        if options.HasExtension(constraints_pb2.constraints):
            found.append((field, options.Extensions[constraints_pb2.constraints]))
        else:
            found.append((field, NONE))
    return tuple(found)


def member_name(field: FieldDescriptor) -> str:
    """'NotebookInstanceName' -> 'notebookInstanceName', as AWS names members in messages."""
    return field.json_name[:1].lower() + field.json_name[1:]


def _is_present(message: Message, field: FieldDescriptor) -> bool:
    if field.has_presence:
        return message.HasField(field.name)
    return bool(getattr(message, field.name))


def _string_failures(value: str, c: Constraints) -> Iterator[str]:
    if NUL in value:
        yield NO_NUL
    for prefix in c.reserved_prefixes:
        if value.lower().startswith(prefix.lower()):
            yield f"Keys starting with '{prefix}' are reserved for internal use"
    if c.HasField("max_length") and len(value) > c.max_length:
        yield f"Member must have length less than or equal to {c.max_length}"
    if c.HasField("min_length") and len(value) < c.min_length:
        yield f"Member must have length greater than or equal to {c.min_length}"
    if c.pattern and not _compiled(c.pattern).fullmatch(value):
        yield f"Member must satisfy regular expression pattern: {c.pattern}"
    if c.allowed_values and value not in c.allowed_values:
        yield f"Member must satisfy enum value set: [{', '.join(c.allowed_values)}]"


def _number_failures(value: int, c: Constraints) -> Iterator[str]:
    if c.HasField("min_value") and value < c.min_value:
        yield f"Member must have value greater than or equal to {c.min_value}"
    if c.HasField("max_value") and value > c.max_value:
        yield f"Member must have value less than or equal to {c.max_value}"


def _count_failures(count: int, c: Constraints) -> Iterator[str]:
    if c.HasField("max_items") and count > c.max_items:
        yield f"Member must have length less than or equal to {c.max_items}"
    if c.HasField("min_items") and count < c.min_items:
        yield f"Member must have length greater than or equal to {c.min_items}"


def violations(message: Message, within: str = "") -> list[FieldViolation]:
    """Every failed constraint of `message`, in field order, each with its full sentence.

    Items of a repeated field are named as AWS names them: 'tags.1.member.key'."""
    found: list[FieldViolation] = []
    for field, c in _fields(message.DESCRIPTOR):
        member = within + member_name(field)
        if not _is_present(message, field):
            if c.required:
                found.append(
                    _violation(field, f"Value null at '{member}'", "Member must not be null")
                )
            continue
        value = getattr(message, field.name)
        if _is_map(field):
            found.extend(_map_violations(field, value, member))
        elif field.is_repeated:
            shown = f"[{', '.join(_shown(v) for v in value)}]"
            found.extend(
                _violation(field, f"Value '{shown}' at '{member}'", f)
                for f in _count_failures(len(value), c)
            )
            for n, item in enumerate(value, start=1):
                found.extend(_value_violations(field, item, c, f"{member}.{n}.member"))
        else:
            found.extend(_value_violations(field, value, c, member))
    return found


def _is_map(field: FieldDescriptor) -> bool:
    entry = field.message_type
    return entry is not None and entry.GetOptions().map_entry


def _map_violations(
    field: FieldDescriptor, entries: Mapping[object, object], member: str
) -> list[FieldViolation]:
    """A map's string keys and values hold no NUL (no map field carries constraints)."""
    strings = [s for pair in entries.items() for s in pair if isinstance(s, str)]
    return [_violation(field, f"Value '{s}' at '{member}'", NO_NUL) for s in strings if NUL in s]


def _shown(item: object) -> str:
    """An item as a message shows it: a string as is, a message as compact JSON."""
    if isinstance(item, Message):
        return json.dumps(json_format.MessageToDict(item), separators=(",", ":"))
    return str(item)


def _value_violations(
    field: FieldDescriptor, value: object, c: Constraints, member: str
) -> list[FieldViolation]:
    if isinstance(value, Message):
        return violations(value, within=member + ".")
    if isinstance(value, str):
        failures = _string_failures(value, c)
    elif isinstance(value, int):
        failures = _number_failures(value, c)
    else:
        return []
    return [_violation(field, f"Value '{value}' at '{member}'", f) for f in failures]


def _violation(field: FieldDescriptor, subject: str, failure: str) -> FieldViolation:
    return FieldViolation(field.name, f"{subject} failed to satisfy constraint: {failure}")


def check(message: Message) -> None:
    """Raises one ValidationException that reports all failures at once."""
    found = violations(message)
    if not found:
        return
    noun = "error" if len(found) == 1 else "errors"
    text = "; ".join(v.description for v in found)
    raise errors.VALIDATION(f"{len(found)} validation {noun} detected: {text}", violations=found)
