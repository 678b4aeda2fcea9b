"""Every exception leaves as the error its caller sees, decided in one place."""

from __future__ import annotations

import logging

import pytest

from nbpresign.common import errors
from nbpresign.server.api.failures import failure
from nbpresign.server.storage import InvalidText, StorageUnavailable


def test_a_service_error_is_itself() -> None:
    error = errors.VALIDATION("x")
    assert failure(error, request_id="r", where="w") is error


def test_an_outage_is_retryable_and_logged_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        error = failure(StorageUnavailable("db down"), request_id="r1", where="/x")
    assert error.code is errors.SERVICE_UNAVAILABLE and error.code.retryable
    assert [r.exc_info for r in caplog.records] == [None]
    assert "r1" in caplog.text


def test_text_the_database_cannot_hold_is_the_callers_fault() -> None:
    assert failure(InvalidText("nul"), request_id="r", where="w").code is errors.VALIDATION


def test_a_bug_is_an_internal_failure_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR):
        error = failure(KeyError("secret detail"), request_id="r2", where="w")
    assert error.code is errors.INTERNAL_FAILURE
    assert "secret detail" not in error.message  # never shown to the caller
    assert caplog.records[0].exc_info is not None
