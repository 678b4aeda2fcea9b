"""Any exception, as the error its caller sees: the one place each transport asks.

failure(exc, request_id=..., where=...) -> ServiceError
  a ServiceError         as it is
  StorageUnavailable     ServiceUnavailable (503, retryable): the database did not
                         answer in time; logged as one line, no traceback
  InvalidText            ValidationException: text the database cannot hold
  anything else          InternalFailure, logged with its traceback and request id
"""

from __future__ import annotations

import logging

from nbpresign.common import errors
from nbpresign.common.errors import ServiceError, internal_failure
from nbpresign.server.storage import InvalidText, StorageUnavailable

log = logging.getLogger(__name__)


def failure(exc: BaseException, *, request_id: str, where: str) -> ServiceError:
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, StorageUnavailable):
        log.warning("request %s to %s: the database is unavailable: %s", request_id, where, exc)
        return errors.SERVICE_UNAVAILABLE("The service is unavailable. Please try again shortly.")
    if isinstance(exc, InvalidText):
        return errors.VALIDATION("The request holds characters that cannot be stored.")
    log.error("request %s to %s failed", request_id, where, exc_info=exc)
    return internal_failure()
