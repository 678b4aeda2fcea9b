from __future__ import annotations

import pytest

from nbpresign.common.errors import ServiceError
from nbpresign.server.api import constraints
from nbpresign.v1 import notebook_instances_pb2 as nb
from nbpresign.v1 import presign_pb2

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
