"""The HTML pages the proxy shows a browser: sign-in, bad gateway, busy, refused.

They say what a person needs to know and no more: which check refused a link is
not said, so a page is no oracle for forging one.
"""

from __future__ import annotations

from html import escape

from aiohttp import web

SIGN_IN_PATH = "/_nbpresign/sign-in"

# ?reason= on the sign-in page -> what it tells the person.
SIGN_IN_REASONS: dict[str, str] = {
    "link": (
        "This link is no longer valid. A notebook link works once, within 5 minutes of being "
        "created. Ask for a new link."
    ),
    "session": "Your notebook session has ended. Ask for a new link to open the notebook again.",
    "unavailable": "This notebook is not available right now. Ask its owner to start it.",
    "denied": "You are not allowed to open this notebook from where you are.",
}
DEFAULT_REASON = "Sign in to open a notebook. Ask for a new link."

_TEMPLATE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;
color:#222}}h1{{font-size:1.4em}}</style></head>
<body><h1>{title}</h1><p>{text}</p></body>
</html>
"""

# Pages must not be framed, cached or sniffed.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}


def page(status: int, title: str, text: str) -> web.Response:
    body = _TEMPLATE.format(title=escape(title), text=escape(text))
    return web.Response(
        status=status, text=body, content_type="text/html", charset="utf-8", headers=PAGE_HEADERS
    )


def sign_in(reason: str | None) -> web.Response:
    return page(401, "Sign in", SIGN_IN_REASONS.get(reason or "", DEFAULT_REASON))


async def sign_in_handler(request: web.BaseRequest) -> web.StreamResponse:
    return sign_in(request.query.get("reason"))


def bad_gateway() -> web.Response:
    return page(
        502,
        "Notebook server not responding",
        "The notebook's Jupyter server did not answer. It may be starting or restarting; "
        "try again in a moment.",
    )


def unavailable() -> web.Response:
    return page(
        503,
        "Service unavailable",
        "The service cannot open notebooks right now. Try again in a moment.",
    )


# Seconds a browser is told to wait after a busy page (a place usually frees sooner).
BUSY_RETRY_AFTER = 5


def busy() -> web.Response:
    """A notebook, or this browser, is at its bound of requests or WebSockets (limits)."""
    response = page(
        503,
        "Notebook busy",
        "This notebook is busy with other requests right now. Try again in a few seconds.",
    )
    response.headers["Retry-After"] = str(BUSY_RETRY_AFTER)
    return response


def cross_site() -> web.Response:
    return page(403, "Request refused", "A request from another site was refused.")


def internal_error() -> web.Response:
    return page(500, "Something went wrong", "The request failed. Try again in a moment.")
