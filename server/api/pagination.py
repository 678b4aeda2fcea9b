"""NextToken <-> storage Cursor.

A token is the last instance's sort value and key, with the sort it belongs to, in
URL-safe base64 JSON. It only says where a page ended: forging one can show nothing a
caller could not list anyway. A token from a different sort is refused.
"""

from __future__ import annotations

import base64
import binascii
import json

from nbpresign.common import errors
from nbpresign.server.storage import Cursor


def encode(cursor: Cursor, sort: str) -> str:
    raw = json.dumps([sort, cursor.sort_value, cursor.key], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(token: str, sort: str) -> Cursor:
    try:
        padded = token + "=" * (-len(token) % 4)
        token_sort, value, key = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise errors.VALIDATION("Invalid pagination token") from exc
    if token_sort != sort or not isinstance(key, str) or not isinstance(value, str | int | float):
        raise errors.VALIDATION("Invalid pagination token: it belongs to a different query")
    return Cursor(sort_value=value, key=key)
