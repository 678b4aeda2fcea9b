"""NextToken <-> storage Cursor: opaque to callers, and authenticated by the service.

    token   = base64url(tag + payload), unpadded
    payload = JSON [sort value, instance key] of the last instance of the page
    tag     = HMAC-SHA256(key, binding + payload), its first 16 bytes (RFC 2104 allows
              truncating to half the hash; 128 bits is far beyond guessing)
    binding = the query the page belongs to: for ListNotebookInstances its sort and every
              filter (query_binding; not its page size, which a caller may change between
              pages), for ListTags the instance (tags_binding)

The key is derived from the master key, so every replica issues and accepts the same
tokens. The tag is checked before any of the token is parsed: a forged, altered or
truncated token, or one from another query, is "Invalid pagination token", and no JSON
but the service's own reaches the parser.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json

from nbpresign.common import errors
from nbpresign.common.errors import ServiceError
from nbpresign.server.storage import Cursor, InstanceQuery

TAG_BYTES = 16


def invalid_token() -> ServiceError:
    return errors.VALIDATION("Invalid pagination token")


def query_binding(query: InstanceQuery) -> bytes:
    """What a listing's token is bound to: every field of the query but limit and position."""
    fields = dataclasses.asdict(dataclasses.replace(query, limit=0, after=None))
    return b"instances:" + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def tags_binding(instance_key: str) -> bytes:
    """What a ListTags token is bound to: the instance whose tags it pages through."""
    return b"tags:" + instance_key.encode()


class PageTokens:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _tag(self, binding: bytes, payload: bytes) -> bytes:
        # The binding's length first, so that no binding and payload pair reads as another.
        framed = len(binding).to_bytes(4, "big") + binding + payload
        return hmac.digest(self._key, framed, hashlib.sha256)[:TAG_BYTES]

    def encode(self, cursor: Cursor, binding: bytes) -> str:
        payload = json.dumps([cursor.sort_value, cursor.key], separators=(",", ":")).encode()
        raw = self._tag(binding, payload) + payload
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, token: str, binding: bytes) -> Cursor:
        """The cursor of a token this service issued for `binding`; else ValidationException."""
        try:
            raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        except (ValueError, binascii.Error):  # not base64url, or not ASCII at all
            raise invalid_token() from None
        tag, payload = raw[:TAG_BYTES], raw[TAG_BYTES:]
        if not hmac.compare_digest(tag, self._tag(binding, payload)):
            raise invalid_token()
        value, key = json.loads(payload)  # the service's own JSON: the tag says so
        return Cursor(sort_value=value, key=key)
