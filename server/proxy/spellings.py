"""Every way a page, a header or a message may spell a secret: one regex per secret.

Jupyter writes its token raw (`"token": "..."`), percent-encoded in an HTML attribute
(`data-jupyter-api-token="ab%3Cc..."`, `/` left alone), JSON-escaped in page config
(`\\u003c`), and HTML-escaped where a template escapes it (`&lt;`, `&#39;`). Encoders
differ in which characters they encode and in the case of their hex digits, so the
pattern matches the secret with every character spelled any way of CHARACTER_SPELLINGS,
independently of the others: pattern_of("a<").search(b"a%3c") and .search(b"&#97;\\u003C")
both match.
"""

from __future__ import annotations

import functools
import html.entities
import re
from collections.abc import Callable
from dataclasses import dataclass

# One spelling of a character: a bytes-regex fragment, and how many bytes it matches.
Spelling = tuple[str, int]

# HTML's named references for one character, with their semicolon ("&lt;", "&LT;").
NAMED_REFERENCES: dict[str, list[str]] = {}
for _name, _char in html.entities.html5.items():
    if _name.endswith(";") and len(_char) == 1:
        NAMED_REFERENCES.setdefault(_char, []).append(f"&{_name}")

# Backslash escapes of JSON and JavaScript strings that are not \u or \x.
SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "/": "\\/",  # JSON allows it; tornado's json_encode writes "<\/"
    "'": "\\'",  # JavaScript only
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def hex_digits(value: int, width: int = 1) -> str:
    """hex_digits(0x3C, 2) -> "3[cC]": either case of every letter."""
    digits = f"{value:0{width}x}"
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in digits)


def raw(char: str) -> list[Spelling]:
    encoded = char.encode()
    return [(re.escape(char), len(encoded))]


def percent(char: str) -> list[Spelling]:
    """URLs: %3C or %3c for each UTF-8 byte; and encoded twice (%253C), as in ?next=."""
    encoded = char.encode()
    once = "".join("%" + hex_digits(b, 2) for b in encoded)
    twice = "".join("%25" + hex_digits(b, 2) for b in encoded)
    return [(once, 3 * len(encoded)), (twice, 5 * len(encoded))]


def form_space(char: str) -> list[Spelling]:
    """application/x-www-form-urlencoded writes a space as "+"."""
    return [(re.escape("+"), 1)] if char == " " else []


def json_escape(char: str) -> list[Spelling]:
    """JSON and JavaScript: \\u003c (a surrogate pair beyond the BMP), \\x3c, \\"."""
    code = ord(char)
    if code > 0xFFFF:
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        out = [(rf"\\u{hex_digits(high, 4)}\\u{hex_digits(low, 4)}", 12)]
    else:
        out = [(rf"\\u{hex_digits(code, 4)}", 6)]
    if code < 0x100:
        out.append((rf"\\x{hex_digits(code, 2)}", 4))
    if char in SHORT_ESCAPES:
        out.append((re.escape(SHORT_ESCAPES[char]), len(SHORT_ESCAPES[char])))
    return out


def html_reference(char: str) -> list[Spelling]:
    """HTML: &#60;, &#x3c; or &#X3C;, and named references (&lt;, &amp;, &apos;)."""
    code = ord(char)
    decimal, hexadecimal = f"&#{code};", f"&#x{code:x};"
    out = [(re.escape(decimal), len(decimal)), (f"&#[xX]{hex_digits(code)};", len(hexadecimal))]
    out += [(re.escape(name), len(name)) for name in NAMED_REFERENCES.get(char, [])]
    return out


# The ways one character may be written; a secret matches with any mixture of them.
CHARACTER_SPELLINGS: tuple[Callable[[str], list[Spelling]], ...] = (
    raw,
    percent,
    form_space,
    json_escape,
    html_reference,
)


def spellings_of(char: str) -> list[Spelling]:
    return [s for spell in CHARACTER_SPELLINGS for s in spell(char)]


@dataclass(frozen=True)
class Needle:
    pattern: re.Pattern[bytes]
    longest: int  # bytes in the longest spelling: how far back a match can start


@functools.lru_cache(maxsize=1024)
def needle_of(secret: str) -> Needle | None:
    """The secret's pattern, built once per secret; None for no secret (nothing to remove)."""
    if not secret:
        return None
    groups, longest = [], 0
    for char in secret:
        spellings = spellings_of(char)
        groups.append("(?:" + "|".join(fragment for fragment, _ in spellings) + ")")
        longest += max(size for _, size in spellings)
    return Needle(re.compile("".join(groups).encode()), longest)
