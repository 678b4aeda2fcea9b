from __future__ import annotations

import base64
import dataclasses
import re

import pytest

from nbpresign.common.errors import ServiceError
from nbpresign.server.api.pagination import PageTokens, query_binding, tags_binding
from nbpresign.server.storage import Cursor, InstanceQuery

QUERY = InstanceQuery(limit=3, sort_by="creation_time", name_contains="nb")
TOKENS = PageTokens(b"k" * 32)


def refusal(token: str, query: InstanceQuery = QUERY, tokens: PageTokens = TOKENS) -> str:
    with pytest.raises(ServiceError) as caught:
        tokens.decode(token, query_binding(query))
    assert caught.value.code.aws == "ValidationException"
    return caught.value.message


@pytest.mark.parametrize("value", [1764621903.123456, "nb-1", "InService"])
def test_a_token_gives_back_its_cursor(value: str | float) -> None:
    cursor = Cursor(sort_value=value, key="nb-1")
    token = TOKENS.encode(cursor, query_binding(QUERY))
    assert TOKENS.decode(token, query_binding(QUERY)) == cursor
    # Small and URL-safe: no padding, nothing a query string must escape.
    assert re.fullmatch(r"[A-Za-z0-9_-]{20,80}", token), token


def test_the_page_size_may_change_between_pages() -> None:
    token = TOKENS.encode(Cursor("nb-1", "nb-1"), query_binding(QUERY))
    assert TOKENS.decode(token, query_binding(dataclasses.replace(QUERY, limit=100))).key == "nb-1"


@pytest.mark.parametrize(
    "other",
    [
        dataclasses.replace(QUERY, sort_by="name"),
        dataclasses.replace(QUERY, descending=True),
        dataclasses.replace(QUERY, name_contains="other"),
        dataclasses.replace(QUERY, status_equals="Stopped"),
        dataclasses.replace(QUERY, created_before=1.0),
    ],
)
def test_a_token_belongs_to_its_query(other: InstanceQuery) -> None:
    token = TOKENS.encode(Cursor("nb-1", "nb-1"), query_binding(QUERY))
    assert refusal(token, other) == "Invalid pagination token"


def test_another_key_refuses_it_and_the_same_key_accepts_it() -> None:
    token = TOKENS.encode(Cursor("nb-1", "nb-1"), query_binding(QUERY))
    assert (
        PageTokens(b"k" * 32).decode(token, query_binding(QUERY)).key == "nb-1"
    )  # another replica
    assert refusal(token, tokens=PageTokens(b"x" * 32)) == "Invalid pagination token"


def test_every_altered_character_is_refused() -> None:
    token = TOKENS.encode(Cursor(12.5, "nb-1"), query_binding(QUERY))
    for i, char in enumerate(token):
        altered = token[:i] + ("A" if char != "A" else "B") + token[i + 1 :]
        assert refusal(altered) == "Invalid pagination token", i
    assert refusal(token[:-1]) == "Invalid pagination token"
    assert refusal(token + "A") == "Invalid pagination token"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        "é",
        "\udcff",
        "=",
        "A",
        b64(b"[" * 100_000),  # what the unauthenticated format let anyone make the parser read
        b64(b'["creation_time:asc", {"a": 1}, 5]'),
        b64(b'["creation_time:asc", 1' + b"0" * 5000 + b', "k"]'),
        b64(b"\x00" * 16 + b'[1, "nb-1"]'),  # a made-up tag
    ],
)
def test_forged_tokens_are_refused_before_anything_is_parsed(token: str) -> None:
    assert refusal(token) == "Invalid pagination token"


def test_a_tags_token_belongs_to_its_instance_and_never_to_a_listing() -> None:
    token = TOKENS.encode(Cursor("k1", "k1"), tags_binding("nb-1"))
    assert TOKENS.decode(token, tags_binding("nb-1")).key == "k1"
    for other in (tags_binding("nb-2"), query_binding(QUERY)):
        with pytest.raises(ServiceError):
            TOKENS.decode(token, other)
