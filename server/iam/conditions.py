"""Condition operators: each tests the policy's values against the request's value of a key.

    {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]}}
    {"ForAllValues:StringLike": {"aws:TagKeys": ["team", "cost-*"]}}

Several values of one key OR; several keys, and several operators, AND. A key missing from
the request fails the condition, except for negated operators, which it passes, and for the
`...IfExists` forms, which it always passes. `Null` tests presence itself.

Multivalued keys (aws:TagKeys) take the set qualifiers, with IAM's semantics:
    ForAnyValue:OP   some request value satisfies OP; false when the key is missing
                     (true for OPIfExists)
    ForAllValues:OP  every request value satisfies OP; true when the key is missing or empty
Without a qualifier, a multivalued key holds if any of its values matches (negated: if none
does). A single value is a set of one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from nbpresign.server.iam import variables
from nbpresign.server.iam.variables import Context, Template, Test

IF_EXISTS = "IfExists"
FOR_ANY_VALUE = "ForAnyValue"
FOR_ALL_VALUES = "ForAllValues"
QUALIFIERS = (FOR_ANY_VALUE, FOR_ALL_VALUES)
NULL = "Null"


class ConditionValueError(ValueError):
    """A policy value an operator cannot use, e.g. a CIDR that does not parse."""


def parse_network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ConditionValueError(f"'{value}' is not an IPv4 or IPv6 address or CIDR") from None


def parse_date(value: str) -> datetime:
    try:
        if value.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(value), UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise ConditionValueError(f"'{value}' is not an ISO 8601 date or epoch seconds") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# How an operator reads its policy values. Each makes, from one policy value and the
# request context, a test for one request value (None: the value matches nothing).
Reader = Callable[[Template, Context], Test | None]


def _exact(template: Template, context: Context) -> Test | None:
    wanted = template.literal(context)
    return None if wanted is None else wanted.__eq__


def _exact_ignore_case(template: Template, context: Context) -> Test | None:
    wanted = template.literal(context)
    if wanted is None:
        return None
    folded = wanted.casefold()
    return lambda actual: actual.casefold() == folded


def _like(template: Template, context: Context) -> Test | None:
    pattern = template.pattern(context)
    return None if pattern is None else (lambda actual: pattern.fullmatch(actual) is not None)


def _arn_like(template: Template, context: Context) -> Test | None:
    pattern = template.pattern(context, arn=True)
    if pattern is None:
        return None
    return lambda actual: actual.count(":") >= 5 and pattern.fullmatch(actual) is not None


def _ip(template: Template, context: Context) -> Test:
    network = parse_network(template.literal(context) or "")

    def test(actual: str) -> bool:
        try:
            address = ipaddress.ip_address(actual)
        except ValueError:
            return False
        return address.version == network.version and address in network

    return test


def _date(compare: Callable[[datetime, datetime], bool]) -> Reader:
    def read(template: Template, context: Context) -> Test:
        policy = parse_date(template.literal(context) or "")

        def test(actual: str) -> bool:
            try:
                return compare(parse_date(actual), policy)
            except ConditionValueError:
                return False

        return test

    return read


def _bool(template: Template, context: Context) -> Test:
    wanted = (template.literal(context) or "").lower()
    return lambda actual: actual.lower() == wanted


@dataclass(frozen=True)
class Operator:
    read: Reader
    negated: bool = False  # the condition holds when no value matches
    variables: bool = False  # its values may hold policy variables
    wildcards: bool = False  # `*` and `?` in its values are wildcards
    check_value: Callable[[str], object] | None = None  # validates a policy value


def _strings(read: Reader, *, negated: bool = False) -> Operator:
    return Operator(read, negated=negated, variables=True)


def _patterns(read: Reader, *, negated: bool = False) -> Operator:
    return Operator(read, negated=negated, variables=True, wildcards=True)


# Operator name -> behaviour. The `...IfExists` names are these with the suffix.
OPERATORS: dict[str, Operator] = {
    "StringEquals": _strings(_exact),
    "StringNotEquals": _strings(_exact, negated=True),
    "StringEqualsIgnoreCase": _strings(_exact_ignore_case),
    "StringNotEqualsIgnoreCase": _strings(_exact_ignore_case, negated=True),
    "StringLike": _patterns(_like),
    "StringNotLike": _patterns(_like, negated=True),
    # IAM: both Arn operators match component by component and take wildcards.
    "ArnEquals": _patterns(_arn_like),
    "ArnNotEquals": _patterns(_arn_like, negated=True),
    "ArnLike": _patterns(_arn_like),
    "ArnNotLike": _patterns(_arn_like, negated=True),
    "IpAddress": Operator(_ip, check_value=parse_network),
    "NotIpAddress": Operator(_ip, negated=True, check_value=parse_network),
    "Bool": Operator(_bool),
    "DateEquals": Operator(_date(lambda a, p: a == p), check_value=parse_date),
    "DateNotEquals": Operator(_date(lambda a, p: a == p), negated=True, check_value=parse_date),
    "DateLessThan": Operator(_date(lambda a, p: a < p), check_value=parse_date),
    "DateLessThanEquals": Operator(_date(lambda a, p: a <= p), check_value=parse_date),
    "DateGreaterThan": Operator(_date(lambda a, p: a > p), check_value=parse_date),
    "DateGreaterThanEquals": Operator(_date(lambda a, p: a >= p), check_value=parse_date),
}


@dataclass(frozen=True)
class OperatorName:
    """ "ForAllValues:StringLikeIfExists" read apart."""

    qualifier: str | None  # ForAnyValue, ForAllValues, or None
    base: str  # StringLike, or Null
    if_exists: bool


def split_operator(name: str) -> OperatorName:
    """split_operator("ForAnyValue:StringEqualsIfExists") ->
    OperatorName("ForAnyValue", "StringEquals", True). Raises ValueError if unknown."""
    qualifier, _, rest = name.rpartition(":")
    if qualifier and qualifier not in QUALIFIERS:
        raise ValueError(f"unknown set operator {qualifier}; use ForAnyValue or ForAllValues")
    if rest == NULL:
        if qualifier:
            raise ValueError("Null takes no set operator")
        return OperatorName(None, NULL, False)
    base, if_exists = rest, False
    if rest.endswith(IF_EXISTS) and rest[: -len(IF_EXISTS)] in OPERATORS:
        base, if_exists = rest[: -len(IF_EXISTS)], True
    if base not in OPERATORS:
        raise ValueError("unknown condition operator")
    return OperatorName(qualifier or None, base, if_exists)


def _values_of(actual: variables.Value | None) -> tuple[str, ...]:
    if actual is None:
        return ()
    return (actual,) if isinstance(actual, str) else actual


def holds(
    operator: OperatorName, key: str, policy_values: tuple[Template, ...], context: Context
) -> bool:
    values = _values_of(context.get(key))
    if operator.base == NULL:
        # {"Null": {"aws:TagKeys": "true"}}: holds when the key is absent (or empty).
        return any((v.literal(context) or "").lower() == ("true" if not values else "false")
                   for v in policy_values)  # fmt: skip
    spec = OPERATORS[operator.base]
    tests = [t for t in (spec.read(v, context) for v in policy_values) if t is not None]

    def satisfies(actual: str) -> bool:
        hit = any(test(actual) for test in tests)
        return not hit if spec.negated else hit

    if operator.qualifier == FOR_ALL_VALUES:
        return all(satisfies(v) for v in values)  # vacuously true when missing or empty
    if operator.qualifier == FOR_ANY_VALUE:
        return operator.if_exists if not values else any(satisfies(v) for v in values)
    if not values:
        return operator.if_exists or spec.negated
    hit = any(test(v) for test in tests for v in values)
    return not hit if spec.negated else hit
