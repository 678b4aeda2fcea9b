"""Checks a request message against the (nbpresign.v1.constraints) field options.

The messages follow SageMaker's wording, for example:
    Value 'a_b' at 'notebookInstanceName' failed to satisfy constraint:
    Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from nbpresign.common import errors
from nbpresign.common.errors import FieldViolation
from nbpresign.v1 import constraints_pb2

Constraints = constraints_pb2.FieldConstraints


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.ASCII)  # AWS patterns mean ASCII \w and \d


@cache
def _constrained_fields(descriptor: Descriptor) -> tuple[tuple[FieldDescriptor, Constraints], ...]:
    found = []
    for field in descriptor.fields:
        options = field.GetOptions()
        if options.HasExtension(constraints_pb2.constraints):
            found.append((field, options.Extensions[constraints_pb2.constraints]))
    return tuple(found)


def member_name(field: FieldDescriptor) -> str:
    """'NotebookInstanceName' -> 'notebookInstanceName', as AWS names members in messages."""
    return field.json_name[:1].lower() + field.json_name[1:]


def _is_present(message: Message, field: FieldDescriptor) -> bool:
    if field.has_presence:
        return message.HasField(field.name)
    return bool(getattr(message, field.name))


def _string_failures(value: str, c: Constraints) -> Iterator[str]:
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


def violations(message: Message) -> list[FieldViolation]:
    """Every failed constraint of `message`, in field order, each with its full sentence."""
    found: list[FieldViolation] = []
    for field, c in _constrained_fields(message.DESCRIPTOR):
        member = member_name(field)
        if not _is_present(message, field):
            if c.required:
                found.append(
                    _violation(field, f"Value null at '{member}'", "Member must not be null")
                )
            continue
        value = getattr(message, field.name)
        failures = (
            _string_failures(value, c) if isinstance(value, str) else _number_failures(value, c)
        )
        found.extend(_violation(field, f"Value '{value}' at '{member}'", f) for f in failures)
    return found


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
