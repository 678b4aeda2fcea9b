"""Policy variables and wildcards: what a template matches, and that values stay literal."""

from __future__ import annotations

import pytest

from nbpresign.server.iam import variables
from nbpresign.server.iam.variables import Text, Var, VariableSyntaxError, Wild

ALICE = {"aws:username": "alice", "aws:principaltag/team": "data-science"}


def parse(text: str, wildcards: bool = True) -> variables.Template:
    return variables.parse(text, variables=True, wildcards=wildcards)


def matches(text: str, value: str, context: variables.Context = ALICE) -> bool:
    pattern = parse(text).pattern(context)
    return pattern is not None and pattern.fullmatch(value) is not None


def test_parts() -> None:
    template = parse("nb/${aws:username}-*?${*}${?}${$}${aws:PrincipalTag/Team, 'none'}")
    assert template.parts == (
        Text("nb/"),
        Var("aws:username", None),
        Text("-"),
        Wild("*"),
        Wild("?"),
        Text("*"),
        Text("?"),
        Text("$"),
        Var("aws:principaltag/team", "none"),
    )


@pytest.mark.parametrize(
    ("template", "value", "expected"),
    [
        ("arn:nb/${aws:username}-*", "arn:nb/alice-1", True),
        ("arn:nb/${aws:username}-*", "arn:nb/bob-1", False),
        ("arn:nb/${aws:username}", "arn:nb/ALICE", False),  # values compare as they are
        ("${aws:PrincipalTag/team}", "data-science", True),  # key case does not matter
        ("x${*}", "x*", True),  # an escaped star is a star
        ("x${*}", "xy", False),
        ("x${?}", "xy", False),
        ("a${$}{b}", "a${b}", True),
        ("${aws:PrincipalTag/cost, 'none'}", "none", True),  # the default
        ("${aws:PrincipalTag/team, 'none'}", "data-science", True),  # the value, not the default
        ("${aws:PrincipalTag/missing}", "", False),  # unresolvable: matches nothing
        ("*${aws:PrincipalTag/missing}*", "anything", False),
    ],
)
def test_matching(template: str, value: str, expected: bool) -> None:
    assert matches(template, value) is expected


def test_a_value_with_wildcards_matches_only_itself() -> None:
    sneaky = {"aws:username": "a*"}
    assert matches("nb/${aws:username}", "nb/a*", sneaky)
    assert not matches("nb/${aws:username}", "nb/abc", sneaky)
    question = {"aws:username": "?"}
    assert not matches("nb/${aws:username}", "nb/x", question)


def test_multivalued_keys_do_not_resolve() -> None:
    assert parse("${aws:TagKeys}").literal({"aws:tagkeys": ("a", "b")}) is None
    assert parse("${aws:TagKeys, 'd'}").literal({"aws:tagkeys": ("a",)}) == "d"


def test_without_variables_the_text_is_literal() -> None:
    template = variables.parse("nb/${aws:username}", variables=False, wildcards=True)
    assert template.literal(ALICE) == "nb/${aws:username}"


def test_exact_strings_keep_their_stars() -> None:
    template = variables.parse("a*b", variables=True, wildcards=False)
    assert template.literal({}) == "a*b"


@pytest.mark.parametrize(
    "bad", ["${aws:username", "${}", "${nokey}", "${aws:a b}", "x${aws:u, none}"]
)
def test_malformed_variables(bad: str) -> None:
    with pytest.raises(VariableSyntaxError):
        parse(bad)


def test_arn_components_bound_wildcards() -> None:
    pattern = parse("arn:aws:sagemaker:*:123:notebook-instance/*").pattern({}, arn=True)
    assert pattern is not None
    assert pattern.fullmatch("arn:aws:sagemaker:us-east-1:123:notebook-instance/x")
    # A wildcard in the region component does not swallow the account.
    assert not pattern.fullmatch("arn:aws:sagemaker:us-east-1:999:123:notebook-instance/x")
