"""The connection budget from the open-file limit, and raising that limit at start."""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest

from nbpresign.server.process.limits import RESERVED_DESCRIPTORS, Limits


@pytest.mark.parametrize(
    ("open_files", "expected"),
    [
        (1024, 256),  # (1024 - 256) // 3: HTTP (x2 with Jupyter) and gRPC fit beside the reserve
        (4096, 1280),
        (1_048_576, 349_440),
        (RESERVED_DESCRIPTORS, 1),  # never none at all
        (10, 1),
    ],
)
def test_connections_from_the_open_file_limit(open_files: int, expected: int) -> None:
    assert Limits().connections(open_files) == expected


def test_an_explicit_limit_wins() -> None:
    assert Limits(max_connections=7).connections(1_000_000) == 7


def test_the_soft_limit_is_raised_to_the_hard_one() -> None:
    def lower() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (300, 900))

    code = (
        "import resource;"
        "from nbpresign.server.process.limits import raise_open_file_limit;"
        "print(raise_open_file_limit(), resource.getrlimit(resource.RLIMIT_NOFILE))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, preexec_fn=lower, check=True
    )
    assert result.stdout.split(maxsplit=1) == ["900", "(900, 900)\n"]
