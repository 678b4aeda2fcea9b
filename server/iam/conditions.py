"""Condition operators: each takes the policy's values and the request's value of a key.

    {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]}}

Several values of one key OR; several keys, and several operators, AND. A key missing
from the request fails the condition, except for negated operators, which it passes, and
for the `...IfExists` forms, which it always passes. `Null` tests presence itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from nbpresign.server.iam.wildcards import matches

IF_EXISTS = "IfExists"


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


def _ip_in(policy: str, actual: str) -> bool:
    try:
        address = ipaddress.ip_address(actual)
    except ValueError:
        return False
    network = parse_network(policy)
    return address.version == network.version and address in network


def _date_compare(test: Callable[[datetime, datetime], bool]) -> Callable[[str, str], bool]:
    def compare(policy: str, actual: str) -> bool:
        try:
            return test(parse_date(actual), parse_date(policy))
        except ConditionValueError:
            return False

    return compare


def _bool_equals(policy: str, actual: str) -> bool:
    return policy.lower() == actual.lower()


@dataclass(frozen=True)
class Operator:
    test: Callable[[str, str], bool]  # (policy value, request value) -> matches
    negated: bool = False  # the condition holds when no value matches
    check_value: Callable[[str], object] | None = None  # validates a policy value

    def holds(self, policy_values: list[str], actual: str | None, *, if_exists: bool) -> bool:
        if actual is None:
            return if_exists or self.negated
        matched = any(self.test(v, actual) for v in policy_values)
        return not matched if self.negated else matched


def _null(policy_values: list[str], actual: str | None) -> bool:
    # {"Null": {"aws:SourceIp": "true"}}: holds when the key is absent.
    return any((v.lower() == "true") == (actual is None) for v in policy_values)


# Operator name -> behaviour. The `...IfExists` names are these with the suffix.
OPERATORS: dict[str, Operator] = {
    "StringEquals": Operator(lambda p, a: p == a),
    "StringNotEquals": Operator(lambda p, a: p == a, negated=True),
    "StringEqualsIgnoreCase": Operator(lambda p, a: p.lower() == a.lower()),
    "StringNotEqualsIgnoreCase": Operator(lambda p, a: p.lower() == a.lower(), negated=True),
    "StringLike": Operator(lambda p, a: matches(p, a)),
    "StringNotLike": Operator(lambda p, a: matches(p, a), negated=True),
    "ArnEquals": Operator(lambda p, a: p == a),
    "ArnNotEquals": Operator(lambda p, a: p == a, negated=True),
    "ArnLike": Operator(lambda p, a: matches(p, a)),
    "ArnNotLike": Operator(lambda p, a: matches(p, a), negated=True),
    "IpAddress": Operator(_ip_in, check_value=parse_network),
    "NotIpAddress": Operator(_ip_in, negated=True, check_value=parse_network),
    "Bool": Operator(_bool_equals),
    "DateEquals": Operator(_date_compare(lambda a, p: a == p), check_value=parse_date),
    "DateNotEquals": Operator(
        _date_compare(lambda a, p: a == p), negated=True, check_value=parse_date
    ),
    "DateLessThan": Operator(_date_compare(lambda a, p: a < p), check_value=parse_date),
    "DateLessThanEquals": Operator(_date_compare(lambda a, p: a <= p), check_value=parse_date),
    "DateGreaterThan": Operator(_date_compare(lambda a, p: a > p), check_value=parse_date),
    "DateGreaterThanEquals": Operator(_date_compare(lambda a, p: a >= p), check_value=parse_date),
}
NULL = "Null"


def split_operator(name: str) -> tuple[str, bool]:
    """split_operator("StringLikeIfExists") -> ("StringLike", True)."""
    if name.endswith(IF_EXISTS) and name[: -len(IF_EXISTS)] in OPERATORS:
        return name[: -len(IF_EXISTS)], True
    return name, False


def holds(operator: str, policy_values: list[str], actual: str | None) -> bool:
    if operator == NULL:
        return _null(policy_values, actual)
    base, if_exists = split_operator(operator)
    return OPERATORS[base].holds(policy_values, actual, if_exists=if_exists)
