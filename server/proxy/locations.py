"""Where the proxy sends a browser: a Location it writes never leaves the notebook's origin.

To a browser a path that starts with two slashes, or with a slash and a backslash, names
another host: `//evil.example/`, `/\\evil.example/` and `/\\/evil.example/` all lead to
evil.example (it reads a backslash as a slash, and drops tabs and newlines first). So a
path taken from a request starts with exactly one slash before it goes into a Location,
and the redirect after redemption is an absolute URL on the notebook's own origin.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# What starts a path, any number of times: slashes and backslashes, raw or percent-encoded
# in either case, and the tab, newline and carriage return browsers remove from URLs.
LEADING_SEPARATORS = re.compile(r"^(?:[/\\\t\n\r]|%2[fF]|%5[cC])+")

# What browsers remove from a URL before reading it (WHATWG URL: C0 controls and space at
# either end; tab, newline and carriage return anywhere).
EDGE_CHARACTERS = "".join(map(chr, range(0x21)))
INNER_REMOVED = str.maketrans("", "", "\t\n\r")


def own_path(path: str) -> str:
    """own_path("//evil.example/x?a=1") -> "/evil.example/x?a=1"; own_path("") -> "/"."""
    return "/" + LEADING_SEPARATORS.sub("", path)


def on_origin(origin: str, path: str) -> str:
    """on_origin("http://nb.localhost:8080", "///evil.example/") ->
    "http://nb.localhost:8080/evil.example/"."""
    return origin + own_path(path)


def as_browsers_read(location: str) -> str:
    """The Location as a browser resolves it, for an http(s) page."""
    return location.strip(EDGE_CHARACTERS).translate(INNER_REMOVED).replace("\\", "/")


def from_upstream(location: str, *, upstream_origin: str, public_origin: str) -> str:
    """A redirect from Jupyter, as the browser gets it:

    "http://127.0.0.1:8888/lab"       -> "http://nb.localhost:8080/lab" (Jupyter's own address)
    "//evil.example/", "/\\evil/"       -> "/evil.example/", "/evil/" (stays on the notebook)
    "https://docs.example.com/x"      -> unchanged (another site, named in full by Jupyter)
    "lab/tree"                        -> unchanged (relative to the page)
    """
    read = as_browsers_read(location)
    try:
        parts = urlsplit(read)
    except ValueError:  # "http://[evil/": no browser goes anywhere good with it
        return own_path("")
    if parts.netloc:
        scheme = parts.scheme or urlsplit(upstream_origin).scheme
        rest = read.partition("//")[2][len(parts.netloc) :]
        if f"{scheme}://{parts.netloc}".lower() == upstream_origin.lower():
            return on_origin(public_origin, rest)
        if not parts.scheme:  # "//host/...": a path where a host was never meant
            return own_path(read)
        return location
    if read.startswith("/"):
        return own_path(read)
    return location
