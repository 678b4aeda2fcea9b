from __future__ import annotations

import pytest

from nbpresign.common.errors import ServiceError
from nbpresign.server.api import constraints
from nbpresign.v1 import gateway_pb2, presign_pb2, tags_pb2
from nbpresign.v1 import notebook_instances_pb2 as nb

Request = presign_pb2.CreatePresignedNotebookInstanceUrlRequest
PATTERN = "Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*"


@pytest.mark.parametrize("name", ["a", "A1", "a-b", "a--b", "a" * 63, "9-Z"])
def test_valid_names(name: str) -> None:
    assert constraints.violations(Request(notebook_instance_name=name)) == []


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (
            Request(notebook_instance_name="a_b"),
            [f"Value 'a_b' at 'notebookInstanceName' failed to satisfy constraint: {PATTERN}"],
        ),
        (
            Request(),
            [
                "Value null at 'notebookInstanceName' failed to satisfy constraint: Member must not be null"
            ],
        ),
        (
            Request(notebook_instance_name="b" * 64 + "-"),
            [
                f"Value '{'b' * 64}-' at 'notebookInstanceName' failed to satisfy constraint: Member must have length less than or equal to 63",
                f"Value '{'b' * 64}-' at 'notebookInstanceName' failed to satisfy constraint: {PATTERN}",
            ],
        ),
        (
            Request(notebook_instance_name="ok", session_expiration_duration_in_seconds=-1),
            [
                "Value '-1' at 'sessionExpirationDurationInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 1800"
            ],
        ),
        (
            nb.ListNotebookInstancesRequest(sort_order="Sideways", max_results=101),
            [
                "Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100",
                "Value 'Sideways' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [Ascending, Descending]",
            ],
        ),
    ],
)
def test_violations(request_: object, expected: list[str]) -> None:
    assert [v.description for v in constraints.violations(request_)] == expected  # type: ignore[arg-type]


def test_unset_optional_fields_impose_nothing() -> None:
    assert constraints.violations(nb.ListNotebookInstancesRequest()) == []


def test_check_reports_every_failure_in_one_error() -> None:
    with pytest.raises(ServiceError) as caught:
        constraints.check(
            Request(notebook_instance_name="-", session_expiration_duration_in_seconds=1)
        )
    error = caught.value
    assert error.code.aws == "ValidationException"
    assert error.message.startswith("2 validation errors detected: Value '-' at")
    assert "; Value '1' at 'sessionExpirationDurationInSeconds'" in error.message
    assert [v.field for v in error.violations] == [
        "notebook_instance_name",
        "session_expiration_duration_in_seconds",
    ]


def test_pattern_is_linear_on_long_input() -> None:
    # A pathological pattern would backtrack for ages; this returns at once.
    long_value = "a-" * 50_000 + "_"
    found = constraints.violations(Request(notebook_instance_name=long_value))
    assert len(found) == 2


# Repeated and nested fields (tags), as AWS names their members: 'tags.1.member.key'.
TAG_PATTERN = "Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$"
ARN = "arn:aws:sagemaker:us-east-1:000000000000:notebook-instance/nb"


def tag_violations(*tags: tuple[str, str]) -> list[str]:
    request = nb.AddTagsRequest(
        resource_arn=ARN, tags=[tags_pb2.Tag(key=k, value=v) for k, v in tags]
    )
    return [v.description for v in constraints.violations(request)]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("team", "data-science"),
        ("Équipe", "données"),  # letters beyond ASCII: \p{L}
        ("数据", "٣"),  # CJK letters, an Arabic-Indic digit: \p{N}
        ("cost center", "a\u00a0b"),  # spaces, the no-break one too: \p{Z}
        ("k_.:/=+-@", ""),
        ("k" * 128, "v" * 256),
    ],
)
def test_valid_tags(key: str, value: str) -> None:
    assert tag_violations((key, value)) == []


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "a!",
            "v",
            f"Value 'a!' at 'tags.1.member.key' failed to satisfy constraint: {TAG_PATTERN}",
        ),
        (
            "k",
            "tab\there",
            f"Value 'tab\there' at 'tags.1.member.value' failed to satisfy constraint: {TAG_PATTERN}",
        ),
        (
            "",
            "v",
            "Value null at 'tags.1.member.key' failed to satisfy constraint: Member must not be null",
        ),
        (
            "k" * 129,
            "v",
            f"Value '{'k' * 129}' at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128",
        ),
        (
            "AWS:name",
            "v",
            "Value 'AWS:name' at 'tags.1.member.key' failed to satisfy constraint: Keys starting with 'aws:' are reserved for internal use",
        ),
    ],
)
def test_invalid_tags(key: str, value: str, expected: str) -> None:
    assert tag_violations(("ok", "v"), (key, value)) == [expected.replace("tags.1.", "tags.2.")]


def test_at_most_50_tags() -> None:
    found = tag_violations(*[(f"k{n}", "v") for n in range(51)])
    assert len(found) == 1
    assert found[0].startswith('Value \'[{"Key":"k0","Value":"v"}, ')
    assert found[0].endswith(
        "at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"
    )


def test_repeated_strings_are_checked_one_by_one() -> None:
    request = nb.DeleteTagsRequest(resource_arn=ARN, tag_keys=["ok", "bad!"])
    assert [v.description for v in constraints.violations(request)] == [
        f"Value 'bad!' at 'tagKeys.2.member' failed to satisfy constraint: {TAG_PATTERN}"
    ]
    empty = nb.DeleteTagsRequest(resource_arn=ARN)
    assert [v.description for v in constraints.violations(empty)] == [
        "Value null at 'tagKeys' failed to satisfy constraint: Member must not be null"
    ]


NO_NUL = "Member must not contain null characters"


def test_no_string_holds_a_null_character_constrained_or_not() -> None:
    register = nb.RegisterNotebookInstanceRequest(
        notebook_instance_name="ok", jupyter_server_url="http://127.0.0.1:9/", jupyter_token="a\0b"
    )
    assert [(v.field, v.description) for v in constraints.violations(register)] == [
        ("jupyter_token", f"Value 'a\0b' at 'jupyterToken' failed to satisfy constraint: {NO_NUL}")
    ]
    # A patterned field reports its pattern too; an unconstrained one the NUL alone.
    listing = nb.ListNotebookInstancesRequest(name_contains="\0", next_token="x\0")
    assert [v.description for v in constraints.violations(listing)] == [
        f"Value 'x\0' at 'nextToken' failed to satisfy constraint: {NO_NUL}",
        f"Value '\0' at 'nameContains' failed to satisfy constraint: {NO_NUL}",
        "Value '\0' at 'nameContains' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9-]+",
    ]


def test_nested_repeated_and_map_strings_are_checked() -> None:
    summaries = nb.ListNotebookInstancesResponse(
        notebook_instances=[
            nb.NotebookInstanceSummary(notebook_instance_name="fine"),
            nb.NotebookInstanceSummary(notebook_instance_name="bad\0"),
        ]
    )
    assert [(v.field, v.description) for v in constraints.violations(summaries)] == [
        (
            "notebook_instance_name",
            "Value 'bad\0' at 'notebookInstances.2.member.notebookInstanceName' failed to "
            f"satisfy constraint: {NO_NUL}",
        )
    ]
    headers = gateway_pb2.AuthenticateRequestRequest(headers={"x-a": "1", "x\0": "2", "x-b": "\0"})
    assert sorted(v.description for v in constraints.violations(headers)) == [
        f"Value '\0' at 'headers' failed to satisfy constraint: {NO_NUL}",
        f"Value 'x\0' at 'headers' failed to satisfy constraint: {NO_NUL}",
    ]
