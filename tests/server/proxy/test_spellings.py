"""Every spelling of a secret: what the pattern matches, mixtures and limits included."""

from __future__ import annotations

import html
import json
import re
import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbpresign.server.proxy.spellings import hex_digits, needle_of

from notebooks import TOKEN_ALPHABETS, written_forms


def found(secret: str, text: bytes) -> bool:
    needle = needle_of(secret)
    assert needle is not None
    return needle.pattern.search(text) is not None


@pytest.mark.parametrize(
    ("secret", "text"),
    [
        ("a<b", b"a<b"),
        ("a<b", b"a%3Cb"),
        ("a<b", b"a%3cb"),
        ("a<b", b"a%253Cb"),  # encoded twice, as inside ?next=
        ("a<b", b"a\\u003cb"),
        ("a<b", b"a\\u003Cb"),
        ("a<b", b"a\\x3cb"),
        ("a<b", b"a&lt;b"),
        ("a<b", b"a&LT;b"),
        ("a<b", b"a&#60;b"),
        ("a<b", b"a&#x3c;b"),
        ("a<b", b"a&#X3C;b"),
        ("a'b", b"a&#39;b"),
        ("a'b", b"a&#x27;b"),
        ("a'b", b"a&apos;b"),
        ("a'b", b"a\\'b"),
        ("a&b", b"a&amp;b"),
        ('a"b', b'a\\"b'),
        ('a"b', b"a&quot;b"),
        ('a"b', b"a&#34;b"),
        ("a/b", b"a\\/b"),
        ("a/b", b"a&sol;b"),
        ("a+b", b"a%2Bb"),
        ("a=b", b"a%3db"),
        ("a b", b"a+b"),
        ("ab", b"%61%62"),  # encoded though it need not be
        ("ab", b"&#97;\\u0062"),  # each character its own way
        ("é", "é".encode()),
        ("é", b"%C3%A9"),
        ("é", b"\\u00e9"),
        ("é", b"&eacute;"),
        ("😀", b"\\ud83d\\ude00"),
        ("😀", b"%F0%9F%98%80"),
    ],
)
def test_a_spelling_is_found(secret: str, text: bytes) -> None:
    assert found(secret, b"before " + text + b" after")


@pytest.mark.parametrize(
    ("secret", "text"),
    [
        ("a<b", b"a<c"),
        ("abc", b"ab"),
        ("a<b", b"a%3Db"),
        ("ab", b"AB"),  # letters are the secret's own: case is not a spelling
        ("a<b", b"a&lt b"),
        ("a<b", b"a%3"),
    ],
)
def test_what_is_not_a_spelling(secret: str, text: bytes) -> None:
    assert not found(secret, text)


def test_no_secret_has_no_needle() -> None:
    assert needle_of("") is None


def test_hex_digits_take_either_case() -> None:
    assert hex_digits(0x3C, 2) == "3[cC]"
    assert hex_digits(0x2F, 4) == "002[fF]"


@pytest.mark.parametrize("alphabet", sorted(TOKEN_ALPHABETS))
def test_every_written_form_of_every_alphabet_is_found(alphabet: str) -> None:
    token = TOKEN_ALPHABETS[alphabet]()
    for name, form in written_forms(token).items():
        assert found(token, form.encode()), name


# Independent per-character encoders: a page may mix them within one token.
ENCODERS = [
    lambda c: c,
    lambda c: urllib.parse.quote(c, safe=""),
    lambda c: re.sub("%..", lambda m: m[0].lower(), urllib.parse.quote(c, safe="")),
    lambda c: json.dumps(c)[1:-1],
    lambda c: json.dumps(c, ensure_ascii=True)[1:-1] if ord(c) > 127 else f"\\u{ord(c):04X}",
    lambda c: html.escape(c),
    lambda c: f"&#{ord(c)};",
    lambda c: f"&#x{ord(c):X};",
]


@given(
    secret=st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40),
    data=st.data(),
)
def test_any_mixture_is_found_and_no_longer_than_longest(secret: str, data: st.DataObject) -> None:
    spelled = "".join(
        data.draw(st.sampled_from(ENCODERS), label="encoder")(c) for c in secret
    ).encode()
    needle = needle_of(secret)
    assert needle is not None
    match = needle.pattern.search(spelled)
    assert match is not None
    assert len(spelled) <= needle.longest
