"""Scrubbing a body, a header or a message: no spelling of the token left, whatever the chunks."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbpresign.server.proxy.scrub import Scrubber, is_text, remove
from nbpresign.server.proxy.spellings import needle_of

from notebooks import TOKEN_ALPHABETS, written_forms


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("text/html; charset=utf-8", True),
        ("application/json", True),
        ("application/vnd.api+json", True),
        ("application/javascript", True),
        ("image/png", False),
        ("application/octet-stream", False),
        ("", True),  # a browser sniffs it
    ],
)
def test_which_bodies_are_scrubbed(content_type: str, text: bool) -> None:
    assert is_text(content_type) is text


def test_scrubbing_survives_any_chunking() -> None:
    secret = "0123456789abcdef0123456789abcdef"
    body = (f'{{"token": "{secret}"}} and {secret[:10]}' + secret + "tail").encode() * 20
    rng = random.Random(7)
    for _ in range(200):
        scrubber, out, i = Scrubber(secret), b"", 0
        while i < len(body):
            step = rng.randint(1, 50)
            out += scrubber.feed(body[i : i + step])
            i += step
        out += scrubber.flush()
        assert secret.encode() not in out
        assert out == body.replace(secret.encode(), b"")


def test_nested_secrets_do_not_rejoin() -> None:
    scrubber = Scrubber("abc")
    assert scrubber.feed(b"aabcbc") + scrubber.flush() == b""


def test_an_empty_token_scrubs_nothing() -> None:
    scrubber = Scrubber("")
    assert scrubber.feed(b"anything") + scrubber.flush() == b"anything"


def streamed(secret: str, body: bytes, sizes: list[int]) -> bytes:
    scrubber, out, i = Scrubber(secret), b"", 0
    for size in sizes:
        out += scrubber.feed(body[i : i + size])
        i += size
    return out + scrubber.feed(body[i:]) + scrubber.flush()


def spelled_anywhere(secret: str, data: bytes) -> bool:
    needle = needle_of(secret)
    assert needle is not None
    return needle.pattern.search(data) is not None


@pytest.mark.parametrize("alphabet", sorted(TOKEN_ALPHABETS))
def test_every_form_is_removed_from_a_streamed_body(alphabet: str) -> None:
    token = TOKEN_ALPHABETS[alphabet]()
    forms = sorted(set(written_forms(token).values()))
    body = "".join(f"<p data-t='{form}'>{i}</p>\n" for i, form in enumerate(forms)).encode() * 3
    expected = "".join(f"<p data-t=''>{i}</p>\n" for i in range(len(forms))).encode() * 3
    rng = random.Random(alphabet)
    for _ in range(50):
        sizes = [rng.randint(1, 90) for _ in range(len(body) // 20)]
        assert streamed(token, body, sizes) == expected


def test_a_join_with_what_was_sent_is_not_sent() -> None:
    # The first chunk sends "zz&#9" and holds the rest; removing "&#97;&#98;&#99;" from the
    # second then joins the held "7;&#98;" and "c" to the "&#9" already sent: "abc" again.
    body = b"zz" + b"&#97;&#98;" + b"&#97;&#98;" + b"&#99;" + b"c"
    out = streamed("abc", body, [22])
    assert not spelled_anywhere("abc", out)
    assert out == b"zz&#9"


@given(
    pieces=st.lists(
        st.sampled_from(["a", "b", "c", "ab", "bc", "abc", "x", "&#97;", "%62", "\\u0063"]),
        max_size=40,
    ),
    sizes=st.lists(st.integers(min_value=1, max_value=30), max_size=40),
)
def test_no_chunking_and_nesting_lets_a_token_through(pieces: list[str], sizes: list[int]) -> None:
    body = "".join(pieces).encode()
    assert not spelled_anywhere("abc", streamed("abc", body, sizes))


@given(st.binary(max_size=200), st.lists(st.integers(min_value=1, max_value=64), max_size=20))
def test_a_body_without_the_token_passes_unchanged(body: bytes, sizes: list[int]) -> None:
    secret = "q" * 30
    if spelled_anywhere(secret, body):
        return
    assert streamed(secret, body, sizes) == body


def test_remove_keeps_what_was_sent() -> None:
    needle = needle_of("abc")
    assert needle is not None
    assert remove(needle, b"xxaabcbc") == b"xx"
    assert remove(needle, b"ab" + b"cz", start=2) == b"z"  # "ab" was sent: its end goes


def test_headers_and_messages_are_scrubbed_whole() -> None:
    token = "+/tok=="
    scrubber = Scrubber(token)
    assert scrubber.text("/lab?token=%2B%2Ftok%3D%3D&x=1") == "/lab?token=&x=1"
    assert scrubber.text("caf\udce9 +/tok==") == "caf\udce9 "  # bytes that are not UTF-8 stay
    assert scrubber.whole(b'{"t": "\\u002b/tok=="}') == b'{"t": ""}'
