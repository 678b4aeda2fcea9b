"""Every Location the proxy writes stays on the notebook's origin, however the path is spelled."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest

from nbpresign.server.proxy.locations import from_upstream, on_origin, own_path

ORIGIN = "http://nb.localhost:8080"
UPSTREAM = "http://127.0.0.1:8888"

# Paths a request may carry; each must land on the notebook's origin.
HOSTILE_PATHS = [
    "//evil.example/",
    "/\\evil.example/",
    "///evil.example/",
    "/\\/evil.example/",
    "\\\\evil.example/",
    "/%2F/evil.example/",
    "/%2f%2fevil.example/",
    "/%5C/evil.example/",
    "/%5c%5Cevil.example/",
    "/\t/evil.example/",
    "/\n\\evil.example/",
    "//evil.example",
    "//evil.example:443/x?y=1",
    "/@evil.example/",
    "//user@evil.example/",
]


def browser_target(base: str, location: str) -> str:
    """Roughly how a browser resolves a Location: tabs and newlines dropped, \\ as /."""
    cleaned = location.replace("\t", "").replace("\n", "").replace("\\", "/")
    return urljoin(base, cleaned)


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_a_landing_stays_on_the_notebooks_origin(path: str) -> None:
    location = on_origin(ORIGIN, path)
    target = urlsplit(browser_target(ORIGIN + "/", location))
    assert f"{target.scheme}://{target.netloc}" == ORIGIN
    assert location.startswith(ORIGIN + "/")
    assert not location[len(ORIGIN) :].startswith(("//", "/\\"))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", "/"),
        ("", "/"),
        ("/lab/tree/my%20file.ipynb?reset=1", "/lab/tree/my%20file.ipynb?reset=1"),
        ("//evil.example/x", "/evil.example/x"),
        ("/%2F%5c/x", "/x"),
        ("/lab//tree", "/lab//tree"),  # only the start is where a host can hide
    ],
)
def test_own_path(path: str, expected: str) -> None:
    assert own_path(path) == expected


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (f"{UPSTREAM}/lab?x=1", f"{ORIGIN}/lab?x=1"),
        (f"{UPSTREAM}", f"{ORIGIN}/"),
        (f"{UPSTREAM}//evil.example/", f"{ORIGIN}/evil.example/"),
        ("HTTP://127.0.0.1:8888/tree", f"{ORIGIN}/tree"),
        ("//127.0.0.1:8888/tree", f"{ORIGIN}/tree"),  # Jupyter's own, scheme-relative
        # Prefixes of Jupyter's address that are other hosts:
        ("http://127.0.0.1:88889/x", "http://127.0.0.1:88889/x"),
        ("http://127.0.0.1:8888.evil.example/x", "http://127.0.0.1:8888.evil.example/x"),
        ("//evil.example/", "/evil.example/"),
        ("/\\evil.example/", "/evil.example/"),
        ("\\\\evil.example/", "/evil.example/"),
        ("/\t/evil.example/", "/evil.example/"),
        (" //evil.example/", "/evil.example/"),
        ("/lab", "/lab"),
        ("lab/tree", "lab/tree"),
        ("?next=1", "?next=1"),
        ("https://docs.jupyter.org/x", "https://docs.jupyter.org/x"),
        ("http://[evil/", "/"),
    ],
)
def test_jupyters_redirects(location: str, expected: str) -> None:
    assert from_upstream(location, upstream_origin=UPSTREAM, public_origin=ORIGIN) == expected


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_no_relative_redirect_from_jupyter_leaves_the_notebook(path: str) -> None:
    location = from_upstream(path, upstream_origin=UPSTREAM, public_origin=ORIGIN)
    target = urlsplit(browser_target(ORIGIN + "/lab", location))
    assert f"{target.scheme}://{target.netloc}" == ORIGIN
