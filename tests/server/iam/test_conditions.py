"""Condition operators with set qualifiers, IfExists and missing keys, as IAM evaluates them."""

from __future__ import annotations

import pytest

from nbpresign.server.iam import conditions, variables
from nbpresign.server.iam.variables import Context


def holds(operator: str, key: str, values: list[str], context: Context) -> bool:
    name = conditions.split_operator(operator)
    spec = conditions.OPERATORS.get(name.base)
    templates = tuple(
        variables.parse(
            v,
            variables=spec is not None and spec.variables,
            wildcards=spec is not None and spec.wildcards,
        )
        for v in values
    )
    return conditions.holds(name, key.lower(), templates, context)


TAGS = {"aws:tagkeys": ("team", "cost-center")}
NONE: Context = {}
EMPTY: Context = {"aws:tagkeys": ()}


@pytest.mark.parametrize(
    ("operator", "values", "context", "expected"),
    [
        # ForAllValues: every request value is in the policy's set; vacuous when missing.
        ("ForAllValues:StringEquals", ["team", "cost-center", "x"], TAGS, True),
        ("ForAllValues:StringEquals", ["team"], TAGS, False),
        ("ForAllValues:StringEquals", ["team"], NONE, True),
        ("ForAllValues:StringEquals", ["team"], EMPTY, True),
        ("ForAllValues:StringLike", ["team", "cost-*"], TAGS, True),
        ("ForAllValues:StringNotLike", ["key1*"], {"aws:tagkeys": ("key2",)}, True),
        ("ForAllValues:StringNotLike", ["key1*"], {"aws:tagkeys": ("key1:hr",)}, False),
        # ForAnyValue: some request value is in the set; false when missing.
        ("ForAnyValue:StringEquals", ["team"], TAGS, True),
        ("ForAnyValue:StringEquals", ["owner"], TAGS, False),
        ("ForAnyValue:StringEquals", ["team"], NONE, False),
        ("ForAnyValue:StringEquals", ["team"], EMPTY, False),
        ("ForAnyValue:StringEqualsIfExists", ["team"], NONE, True),
        ("ForAnyValue:StringNotEquals", ["team"], TAGS, True),  # cost-center is not team
        ("ForAnyValue:StringNotEquals", ["team", "cost-center"], TAGS, False),
        # No qualifier on a multivalued key: any value matches; negated: none does.
        ("StringEquals", ["team"], TAGS, True),
        ("StringNotEquals", ["team"], TAGS, False),
        ("StringNotEquals", ["owner"], TAGS, True),
        ("StringEquals", ["team"], NONE, False),
        ("StringNotEquals", ["team"], NONE, True),
        ("StringEqualsIfExists", ["team"], NONE, True),
        # A single value is a set of one.
        ("ForAnyValue:StringEquals", ["team"], {"aws:tagkeys": "team"}, True),
        # Null tests presence; an empty set is absent.
        ("Null", ["true"], NONE, True),
        ("Null", ["true"], EMPTY, True),
        ("Null", ["false"], TAGS, True),
        ("Null", ["true"], TAGS, False),
    ],
)
def test_set_qualifiers(operator: str, values: list[str], context: Context, expected: bool) -> None:
    assert holds(operator, "aws:TagKeys", values, context) is expected


def test_variables_in_condition_values() -> None:
    ctx: Context = {"aws:username": "alice", "aws:resourcetag/owner": "alice"}
    assert holds("StringEquals", "aws:ResourceTag/owner", ["${aws:username}"], ctx)
    assert not holds(
        "StringEquals", "aws:ResourceTag/owner", ["${aws:username}"], {**ctx, "aws:username": "bob"}
    )
    # Unresolvable: matches nothing, so the positive operator fails and the negated holds.
    assert not holds("StringEquals", "aws:ResourceTag/owner", ["${aws:PrincipalTag/x}"], ctx)
    assert holds("StringNotEquals", "aws:ResourceTag/owner", ["${aws:PrincipalTag/x}"], ctx)


def test_arn_operators_take_wildcards_per_component() -> None:
    arn = "arn:aws:iam::123456789012:user/alice"
    ctx: Context = {"aws:principalarn": arn}
    assert holds("ArnLike", "aws:PrincipalArn", ["arn:aws:iam::*:user/*"], ctx)
    assert holds("ArnEquals", "aws:PrincipalArn", ["arn:aws:iam::123456789012:user/a*"], ctx)
    assert not holds("ArnLike", "aws:PrincipalArn", ["arn:aws:iam::*:role/*"], ctx)
    assert not holds("ArnLike", "aws:PrincipalArn", ["arn:*:user/alice"], ctx)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("ForSome:StringEquals", "unknown set operator"),
        ("ForAnyValue:Null", "Null takes no set operator"),
        ("StringEqualz", "unknown condition operator"),
    ],
)
def test_unknown_operators(name: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        conditions.split_operator(name)
