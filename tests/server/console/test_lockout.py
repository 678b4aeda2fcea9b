from __future__ import annotations

import pytest

from nbpresign.server.console.lockout import LockoutPolicy, Refusal, wait_seconds

POLICY = LockoutPolicy()


@pytest.mark.parametrize(
    ("failures", "wait"),
    [(0, 0), (2, 0), (3, 2), (4, 4), (5, 8), (8, 60), (9, 60), (10, 900), (50, 900)],
)
def test_waits_grow_then_lock(failures: int, wait: float) -> None:
    assert wait_seconds(POLICY, failures, last_failure=1000.0, now=1000.0) == wait


def test_the_wait_counts_from_the_last_failure() -> None:
    assert wait_seconds(POLICY, 4, last_failure=1000.0, now=1003.0) == 1
    assert wait_seconds(POLICY, 4, last_failure=1000.0, now=1005.0) <= 0


def test_refusals_say_how_long_in_words() -> None:
    assert Refusal(2.2, locked=False).message == (
        "Too many failed attempts. Wait 2 seconds, then try again."
    )
    assert Refusal(61, locked=True).message == (
        "Sign-in is locked after too many failed attempts. Try again in 1 minute."
    )
