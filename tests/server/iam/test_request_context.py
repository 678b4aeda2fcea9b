"""The tag condition keys the authorizer builds, with IAM's case rule for key names."""

from __future__ import annotations

import json
from collections.abc import Mapping

from hypothesis import given
from hypothesis import strategies as st

from nbpresign.server.iam.policy import Decision, evaluate, parse
from nbpresign.server.iam.request_context import principal_keys, request_keys, resource_keys

ARN = "arn:aws:sagemaker:us-east-1:000000000000:notebook-instance/nb"
ACTION = "sagemaker:CreatePresignedNotebookInstanceUrl"


def test_the_keys_of_each_kind() -> None:
    assert principal_keys("AIDAX", [("Team", "NLP")]) == {
        "aws:userid": "AIDAX",
        "aws:principaltag/team": "NLP",
    }
    assert resource_keys([("Team", "NLP")]) == {
        "aws:resourcetag/team": "NLP",
        "sagemaker:resourcetag/team": "NLP",
    }
    assert request_keys([("Team", "a"), ("cost", "b")]) == {
        "aws:requesttag/team": "a",
        "aws:requesttag/cost": "b",
        "aws:tagkeys": ("Team", "cost"),
    }


def allowed_if(condition: Mapping[str, object], context: dict[str, str | tuple[str, ...]]) -> bool:
    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ACTION, "Resource": "*", "Condition": condition}
            ],
        }
    )
    return evaluate([parse(document)], ACTION, ARN, context) is Decision.ALLOW


tag_keys = st.text(st.sampled_from("abcXYZéÉ_-"), min_size=1, max_size=8)
values = st.text(st.sampled_from("abAB1"), max_size=4)


@given(tag_keys, values, st.lists(st.booleans(), min_size=8, max_size=8))
def test_a_tag_key_matches_whatever_case_the_policy_writes_it_in(
    key: str, value: str, upper: list[bool]
) -> None:
    written = "".join(c.upper() if up else c.lower() for c, up in zip(key, upper, strict=False))
    context = {**principal_keys("AIDAX", [(key, value)]), **resource_keys([(key, value)])}
    for prefix in (
        "aws:PrincipalTag/",
        "AWS:principaltag/",
        "aws:ResourceTag/",
        "sagemaker:ResourceTag/",
    ):
        assert allowed_if({"StringEquals": {prefix + written: value}}, context)
        # the value still compares as the operator says: StringEquals is case-sensitive
        if value.swapcase() != value:
            assert not allowed_if({"StringEquals": {prefix + written: value.swapcase()}}, context)


@given(st.lists(tag_keys, min_size=1, max_size=5, unique=True), tag_keys)
def test_tag_keys_set_operators(keys: list[str], allowed: str) -> None:
    context = request_keys([(k, "v") for k in keys])
    only = allowed_if({"ForAllValues:StringEquals": {"aws:TagKeys": [allowed]}}, context)
    assert only == (set(keys) == {allowed})
    some = allowed_if({"ForAnyValue:StringEquals": {"aws:TagKeys": [allowed]}}, context)
    assert some == (allowed in keys)


def test_a_principal_tag_as_a_policy_variable() -> None:
    condition = {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/TEAM}"}}
    mine = {**principal_keys("AIDAX", [("team", "nlp")]), **resource_keys([("Team", "nlp")])}
    assert allowed_if(condition, mine)
    theirs = {**principal_keys("AIDAX", [("team", "nlp")]), **resource_keys([("team", "cv")])}
    assert not allowed_if(condition, theirs)
    untagged = {**principal_keys("AIDAX", []), **resource_keys([("team", "nlp")])}
    assert not allowed_if(condition, untagged)  # an unresolvable variable matches nothing
