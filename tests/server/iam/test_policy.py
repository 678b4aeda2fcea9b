"""The policy engine on a table of documents and contexts, and properties that must hold."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbpresign.server.iam.policy import Decision, PolicyError, evaluate, parse

ALLOW, DENY, IMPLICIT = Decision.ALLOW, Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY
PRESIGN = "sagemaker:CreatePresignedNotebookInstanceUrl"
NB = "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb"

# The developer guide's IP filter (aws-facts.md).
IP_FILTER = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Action": PRESIGN,
            "Resource": "*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]}},
        },
        {
            "Effect": "Allow",
            "Action": PRESIGN,
            "Resource": "*",
            "Condition": {"IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]}},
        },
    ],
}


def allow(**statement: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": {"Effect": "Allow", **statement}}


def context(**keys: str) -> dict[str, str]:
    base = {"aws:sourceip": "192.0.2.10", "aws:username": "alice", "aws:securetransport": "false"}
    base.update({k.replace("__", ":").lower(): v for k, v in keys.items()})
    return base


CASES = [
    # (document, action, resource, context, expected)
    (IP_FILTER, PRESIGN, NB, context(), ALLOW),
    (IP_FILTER, PRESIGN, NB, context(aws__SourceIp="203.0.113.200"), ALLOW),
    (IP_FILTER, PRESIGN, NB, context(aws__SourceIp="198.51.100.1"), DENY),
    (IP_FILTER, PRESIGN, NB, context(aws__SourceIp="2001:db8::1"), DENY),
    (IP_FILTER, "sagemaker:DescribeNotebookInstance", NB, context(), IMPLICIT),
    (allow(Action="*", Resource="*"), "iam:CreateUser", "arn:aws:iam::1:user/x", context(), ALLOW),
    (allow(Action="sagemaker:*", Resource="*"), "iam:CreateUser", "*", context(), IMPLICIT),
    (
        allow(Action="SageMaker:create*", Resource="*"),
        PRESIGN,
        NB,
        context(),
        ALLOW,
    ),  # actions ignore case
    (
        allow(Action="sagemaker:?reatePresignedNotebookInstanceUrl", Resource="*"),
        PRESIGN,
        NB,
        context(),
        ALLOW,
    ),
    (
        allow(Action=PRESIGN, Resource="arn:aws:sagemaker:*:*:notebook-instance/n?"),
        PRESIGN,
        NB,
        context(),
        ALLOW,
    ),
    (
        allow(Action=PRESIGN, Resource="arn:aws:sagemaker:*:*:notebook-instance/NB"),
        PRESIGN,
        NB,
        context(),
        IMPLICIT,
    ),  # resources do not
    (
        allow(Action=PRESIGN, Resource="arn:aws:sagemaker:*:*:notebook-instance/[n]b"),
        PRESIGN,
        NB,
        context(),
        IMPLICIT,
    ),  # [ is literal
    (allow(NotAction="iam:*", Resource="*"), PRESIGN, NB, context(), ALLOW),
    (allow(NotAction="sagemaker:*", Resource="*"), PRESIGN, NB, context(), IMPLICIT),
    (allow(Action="*", NotResource="arn:aws:iam::*"), PRESIGN, NB, context(), ALLOW),
    (allow(Action="*", NotResource=["arn:aws:sagemaker:*"]), PRESIGN, NB, context(), IMPLICIT),
    (
        allow(Action="*", Resource="*", Condition={"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}),
        PRESIGN,
        NB,
        context(aws__SourceIp="2001:db8::5"),
        ALLOW,
    ),
    (
        allow(Action="*", Resource="*", Condition={"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}),
        PRESIGN,
        NB,
        context(),
        IMPLICIT,
    ),
    (
        allow(
            Action="*", Resource="*", Condition={"StringEquals": {"aws:username": ["bob", "alice"]}}
        ),
        PRESIGN,
        NB,
        context(),
        ALLOW,
    ),
    (
        allow(Action="*", Resource="*", Condition={"StringEquals": {"aws:username": "Alice"}}),
        PRESIGN,
        NB,
        context(),
        IMPLICIT,
    ),
    (
        allow(
            Action="*",
            Resource="*",
            Condition={"StringEqualsIgnoreCase": {"aws:username": "ALICE"}},
        ),
        PRESIGN,
        NB,
        context(),
        ALLOW,
    ),
    (
        allow(Action="*", Resource="*", Condition={"StringNotEquals": {"aws:username": "bob"}}),
        PRESIGN,
        NB,
        context(),
        ALLOW,
    ),
    (
        allow(Action="*", Resource="*", Condition={"StringLike": {"aws:username": "al*"}}),
        PRESIGN,
        NB,
        context(),
        ALLOW,
    ),
    (
        allow(Action="*", Resource="*", Condition={"StringNotLike": {"aws:username": "al*"}}),
        PRESIGN,
        NB,
        context(),
        IMPLICIT,
    ),
    (
        allow(Action="*", Resource="*", Condition={"Bool": {"aws:SecureTransport": "true"}}),
        PRESIGN,
        NB,
        context(),
        IMPLICIT,
    ),
    (
        allow(Action="*", Resource="*", Condition={"Bool": {"aws:SecureTransport": False}}),
        PRESIGN,
        NB,
        context(),
        ALLOW,
    ),
    (
        allow(
            Action="*",
            Resource="*",
            Condition={"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
        ),
        PRESIGN,
        NB,
        context(aws__CurrentTime="2026-11-22T01:00:00Z"),
        ALLOW,
    ),
    (
        allow(
            Action="*",
            Resource="*",
            Condition={"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
        ),
        PRESIGN,
        NB,
        context(aws__CurrentTime="2026-11-22T01:00:00Z"),
        IMPLICIT,
    ),
    (
        allow(
            Action="*",
            Resource="*",
            Condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/a*"}},
        ),
        PRESIGN,
        NB,
        context(aws__PrincipalArn="arn:aws:iam::1:user/alice"),
        ALLOW,
    ),
    (
        allow(Action="*", Resource="*", Condition={"Null": {"aws:TokenIssueTime": "true"}}),
        PRESIGN,
        NB,
        context(),
        ALLOW,
    ),
    (
        allow(Action="*", Resource="*", Condition={"Null": {"aws:username": "true"}}),
        PRESIGN,
        NB,
        context(),
        IMPLICIT,
    ),
    # A key missing from the request: plain operators fail, negated ones hold, IfExists holds.
    (
        allow(Action="*", Resource="*", Condition={"StringEquals": {"aws:RequestTag/x": "1"}}),
        PRESIGN,
        NB,
        context(),
        IMPLICIT,
    ),
    (
        allow(Action="*", Resource="*", Condition={"StringNotEquals": {"aws:RequestTag/x": "1"}}),
        PRESIGN,
        NB,
        context(),
        ALLOW,
    ),
    (
        allow(
            Action="*", Resource="*", Condition={"StringEqualsIfExists": {"aws:RequestTag/x": "1"}}
        ),
        PRESIGN,
        NB,
        context(),
        ALLOW,
    ),
    (
        allow(
            Action="*", Resource="*", Condition={"StringEqualsIfExists": {"aws:username": "bob"}}
        ),
        PRESIGN,
        NB,
        context(),
        IMPLICIT,
    ),
    # Several keys and several operators AND.
    (
        allow(
            Action="*",
            Resource="*",
            Condition={
                "StringEquals": {"aws:username": "alice"},
                "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
            },
        ),
        PRESIGN,
        NB,
        context(),
        IMPLICIT,
    ),
    (
        allow(
            Action="*",
            Resource="*",
            Condition={"StringEquals": {"aws:username": "alice", "aws:SecureTransport": "false"}},
        ),
        PRESIGN,
        NB,
        context(),
        ALLOW,
    ),
    # Condition keys ignore case.
    (
        allow(Action="*", Resource="*", Condition={"IpAddress": {"AWS:SOURCEIP": "192.0.2.0/24"}}),
        PRESIGN,
        NB,
        context(),
        ALLOW,
    ),
]


@pytest.mark.parametrize(("document", "action", "resource", "ctx", "expected"), CASES)
def test_evaluation(
    document: dict[str, Any], action: str, resource: str, ctx: dict[str, str], expected: Decision
) -> None:
    assert evaluate([parse(json.dumps(document))], action, resource, ctx) is expected


def test_a_deny_in_any_policy_wins() -> None:
    everything = parse(json.dumps(allow(Action="*", Resource="*")))
    deny = parse(json.dumps({"Statement": [{"Effect": "Deny", "Action": PRESIGN, "Resource": NB}]}))
    assert evaluate([everything, deny], PRESIGN, NB, context()) is DENY
    assert (
        evaluate([everything, deny], "sagemaker:DescribeNotebookInstance", NB, context()) is ALLOW
    )


def test_nothing_attached_is_denied() -> None:
    assert evaluate([], PRESIGN, NB, context()) is IMPLICIT


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"Version": "2020-01-01", "Statement": []}', "Version"),
        ('{"Statement": []}', "Statement: must be"),
        (
            '{"Statement": [{"Effect": "Permit", "Action": "*", "Resource": "*"}]}',
            "Statement[0].Effect",
        ),
        (
            '{"Statement": [{"Effect": "Allow", "Resource": "*"}]}',
            "Statement[0]: needs exactly one of Action and NotAction",
        ),
        (
            '{"Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "x:y", "Resource": "*"}]}',
            "exactly one of Action",
        ),
        ('{"Statement": [{"Effect": "Allow", "Action": "*"}]}', "exactly one of Resource"),
        (
            '{"Statement": [{"Effect": "Allow", "Action": "CreateUser", "Resource": "*"}]}',
            "Statement[0].Action: 'CreateUser'",
        ),
        (
            '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "nb"}]}',
            "Statement[0].Resource: 'nb'",
        ),
        (
            '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": "*"}]}',
            "do not name a principal",
        ),
        (
            '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Extra": 1}]}',
            "Statement[0].Extra: unknown element",
        ),
        ('{"Statement": [{"Effect": "Allow", "Action": [], "Resource": "*"}]}', "non-empty list"),
        (
            '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"IpAddres": {"aws:SourceIp": "1.2.3.4"}}}]}',
            "Statement[0].Condition.IpAddres: unknown condition operator",
        ),
        (
            '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "300.1.1.1/24"]}}}]}',
            "Statement[0].Condition.NotIpAddress.aws:SourceIp: '300.1.1.1/24' is not an IPv4 or IPv6 address or CIDR",
        ),
        (
            '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"DateLessThan": {"aws:CurrentTime": "tomorrow"}}}]}',
            "not an ISO 8601 date",
        ),
        (
            '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"ForSomeValues:StringEquals": {"k:x": "v"}}}]}',
            "Statement[0].Condition.ForSomeValues:StringEquals: unknown set operator ForSomeValues",
        ),
        (
            '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"ForAllValues:Null": {"k:x": "true"}}}]}',
            "Null takes no set operator",
        ),
        (
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::${aws:username"}]}',
            "Statement[0].Resource: 'arn:aws:s3:::${aws:username' has a '${' without its '}'",
        ),
        (
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::${username}"}]}',
            "'${username}' is not a policy variable",
        ),
        (
            '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Null": {"k:x": "maybe"}}}]}',
            "Null takes true or false",
        ),
        (
            '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"k:x": {"a": 1}}}}]}',
            "condition values must be",
        ),
    ],
)
def test_malformed_documents_are_refused_with_where(document: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse(document)
    assert message in str(caught.value)


# Property-based: well-formed documents, built from the grammar parse accepts.
actions = st.sampled_from(
    ["*", "sagemaker:*", PRESIGN, "sagemaker:Describe*", "iam:CreateUser", "sagemaker:?reate*"]
)
resources = st.sampled_from(
    ["*", NB, "arn:aws:sagemaker:*:*:notebook-instance/*", "arn:aws:iam::*:user/*"]
)
ip_values = st.sampled_from(["192.0.2.0/24", "10.0.0.0/8", "::1/128", "2001:db8::/32", "0.0.0.0/0"])
condition_blocks = st.one_of(
    st.just({}),
    st.builds(
        lambda op, ips: {op: {"aws:SourceIp": ips}},
        st.sampled_from(["IpAddress", "NotIpAddress"]),
        st.lists(ip_values, min_size=1, max_size=3),
    ),
    st.builds(
        lambda op, v: {op: {"aws:username": v}},
        st.sampled_from(
            [
                "StringEquals",
                "StringNotEquals",
                "StringLike",
                "StringNotLikeIfExists",
                "StringEqualsIgnoreCase",
            ]
        ),
        st.sampled_from(["alice", "a*", "bob"]),
    ),
    st.builds(lambda v: {"Null": {"aws:SourceIp": v}}, st.sampled_from(["true", "false"])),
    st.builds(lambda v: {"Bool": {"aws:SecureTransport": v}}, st.booleans()),
)
statements = st.builds(
    lambda effect, negate_action, action, negate_resource, resource, condition: {
        "Effect": effect,
        ("NotAction" if negate_action else "Action"): action,
        ("NotResource" if negate_resource else "Resource"): resource,
        **({"Condition": condition} if condition else {}),
    },
    st.sampled_from(["Allow", "Deny"]),
    st.booleans(),
    actions,
    st.booleans(),
    resources,
    condition_blocks,
)
documents = st.lists(statements, min_size=1, max_size=4).map(
    lambda s: {"Version": "2012-10-17", "Statement": s}
)
contexts = st.fixed_dictionaries(
    {},
    optional={
        "aws:sourceip": st.sampled_from(
            ["192.0.2.10", "10.1.2.3", "::1", "2001:db8::9", "not-an-ip"]
        ),
        "aws:username": st.sampled_from(["alice", "bob", ""]),
        "aws:securetransport": st.sampled_from(["true", "false"]),
    },
)
request_actions = st.sampled_from(
    [PRESIGN, "sagemaker:DescribeNotebookInstance", "iam:CreateUser", "iam:DeleteUser"]
)
request_resources = st.sampled_from([NB, "arn:aws:iam::1:user/alice", "*"])


@settings(max_examples=300, deadline=None)
@given(st.lists(documents, min_size=1, max_size=3), request_actions, request_resources, contexts)
def test_evaluation_never_raises_on_well_formed_documents(
    docs: list[dict[str, Any]], action: str, resource: str, ctx: dict[str, str]
) -> None:
    result = evaluate([parse(json.dumps(d)) for d in docs], action, resource, ctx)
    assert isinstance(result, Decision)


@settings(max_examples=300, deadline=None)
@given(st.lists(documents, min_size=0, max_size=3), request_actions, request_resources, contexts)
def test_an_explicit_deny_always_wins(
    docs: list[dict[str, Any]], action: str, resource: str, ctx: dict[str, str]
) -> None:
    # Add a statement that denies exactly this request: whatever else allows it, it is denied.
    deny_this = {
        "Statement": [
            {"Effect": "Deny", "Action": action, "Resource": resource if resource != "*" else "*"}
        ]
    }
    policies = [parse(json.dumps(d)) for d in [*docs, deny_this]]
    assert evaluate(policies, action, resource, ctx) is DENY
    # And adding an Allow-everything never turns a deny into an allow.
    everything = parse(
        json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    )
    assert evaluate([everything, *policies], action, resource, ctx) is DENY


# Policy variables and set operators, on the same grammar.
usernames = st.text(alphabet="ab*?$-{}", min_size=0, max_size=6)


def _escaped(value: str) -> str:
    """A value written into a policy as literal text, with IAM's escapes."""
    return "".join({"*": "${*}", "?": "${?}", "$": "${$}"}.get(c, c) for c in value)


@settings(max_examples=300, deadline=None)
@given(usernames, st.text(alphabet="ab*?-", max_size=6))
def test_a_variable_matches_exactly_its_value(name: str, suffix: str) -> None:
    """A variable never widens: the user `a*` is not a wildcard over every user's notebooks."""
    document = allow(Action="*", Resource="arn:aws:sagemaker:r:1:notebook-instance/${aws:username}")
    policy = parse(json.dumps(document))
    ctx = {"aws:username": name}
    resource = f"arn:aws:sagemaker:r:1:notebook-instance/{suffix}"
    expected = ALLOW if suffix == name else IMPLICIT
    assert evaluate([policy], PRESIGN, resource, ctx) is expected


variable_resources = st.sampled_from(
    [
        "arn:aws:sagemaker:*:*:notebook-instance/${aws:username}-*",
        "arn:aws:sagemaker:*:*:notebook-instance/${aws:PrincipalTag/team}",
        "arn:aws:sagemaker:*:*:notebook-instance/${aws:PrincipalTag/team, 'shared'}*",
        "arn:aws:iam::*:user/${aws:username}",
    ]
)
variable_conditions = st.one_of(
    st.just({}),
    st.builds(
        lambda op, v: {op: {"aws:ResourceTag/team": v}},
        st.sampled_from(["StringEquals", "StringNotEquals", "StringLike", "StringEqualsIfExists"]),
        st.sampled_from(
            ["${aws:PrincipalTag/team}", "${aws:username}", "${aws:PrincipalTag/x, 'none'}"]
        ),
    ),
    st.builds(
        lambda op, v: {op: {"aws:TagKeys": v}},
        st.sampled_from(
            [
                "ForAllValues:StringEquals",
                "ForAnyValue:StringLike",
                "ForAllValues:StringNotLike",
                "ForAnyValue:StringNotEquals",
            ]
        ),
        st.lists(st.sampled_from(["team", "cost-*", "owner"]), min_size=1, max_size=2),
    ),
)
variable_statements = st.builds(
    lambda effect, resource, condition: {
        "Effect": effect,
        "Action": "sagemaker:*",
        "Resource": resource,
        **({"Condition": condition} if condition else {}),
    },
    st.sampled_from(["Allow", "Deny"]),
    variable_resources,
    variable_conditions,
)
variable_documents = st.lists(variable_statements, min_size=1, max_size=3).map(
    lambda s: {"Version": "2012-10-17", "Statement": s}
)
team_contexts = st.fixed_dictionaries(
    {"aws:username": st.sampled_from(["alice", "a*", "bob"])},
    optional={
        "aws:principaltag/team": st.sampled_from(["ds", "ml", "*"]),
        "aws:resourcetag/team": st.sampled_from(["ds", "ml"]),
        "aws:tagkeys": st.lists(st.sampled_from(["team", "cost-center", "owner"]), max_size=3).map(
            tuple
        ),
    },
)
team_resources = st.sampled_from(
    [
        "arn:aws:sagemaker:us-east-1:1:notebook-instance/alice-1",
        "arn:aws:sagemaker:us-east-1:1:notebook-instance/ds",
        "arn:aws:sagemaker:us-east-1:1:notebook-instance/shared-x",
        "arn:aws:sagemaker:us-east-1:1:notebook-instance/a*-1",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(variable_documents, min_size=0, max_size=3), team_resources, team_contexts)
def test_an_explicit_deny_always_wins_with_variables(
    docs: list[dict[str, Any]], resource: str, ctx: dict[str, Any]
) -> None:
    deny_this = {"Statement": [{"Effect": "Deny", "Action": PRESIGN, "Resource": resource}]}
    policies = [parse(json.dumps(d)) for d in [*docs, deny_this]]
    assert evaluate(policies, PRESIGN, resource, ctx) is DENY


@settings(max_examples=300, deadline=None)
@given(variable_documents, team_resources, team_contexts)
def test_variables_behave_as_their_values_written_literally(
    doc: dict[str, Any], resource: str, ctx: dict[str, Any]
) -> None:
    """Evaluating a variable is the same as writing its value, escaped, into the policy; a
    variable with no value and no default is a value that matches nothing."""
    nothing = "\x00unmatchable\x00"

    def substitute(text: str) -> str:
        def one(found: re.Match[str]) -> str:
            inside = found[1]
            if inside in ("*", "?", "$"):
                return found[0]
            key, _, default = inside.partition(",")
            value = ctx.get(key.strip().lower())
            if not isinstance(value, str):
                value = default.strip().strip("'") if default else nothing
            return _escaped(value)

        return re.sub(r"\$\{([^}]*)\}", one, text)

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return substitute(node)
        if isinstance(node, list):
            return [walk(n) for n in node]
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        return node

    literal = walk(doc)
    with_variables = evaluate([parse(json.dumps(doc))], PRESIGN, resource, ctx)
    assert with_variables is evaluate([parse(json.dumps(literal))], PRESIGN, resource, ctx)


def test_variables_are_text_in_older_documents() -> None:
    old = {
        "Version": "2008-10-17",
        "Statement": {"Effect": "Allow", "Action": "*", "Resource": "arn:x:${aws:username}"},
    }
    policy = parse(json.dumps(old))
    assert evaluate([policy], PRESIGN, "arn:x:alice", context()) is IMPLICIT
    assert evaluate([policy], PRESIGN, "arn:x:${aws:username}", context()) is ALLOW


def test_each_user_opens_only_their_own_notebooks() -> None:
    own = allow(
        Action="sagemaker:CreatePresignedNotebookInstanceUrl",
        Resource="arn:aws:sagemaker:*:*:notebook-instance/${aws:username}-*",
    )
    policy = parse(json.dumps(own))
    mine = "arn:aws:sagemaker:us-east-1:1:notebook-instance/alice-scratch"
    theirs = "arn:aws:sagemaker:us-east-1:1:notebook-instance/bob-scratch"
    assert evaluate([policy], PRESIGN, mine, context()) is ALLOW
    assert evaluate([policy], PRESIGN, theirs, context()) is IMPLICIT
