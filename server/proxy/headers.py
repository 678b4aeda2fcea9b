"""Which headers cross the proxy, in each direction."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from nbpresign.server.proxy import locations

# RFC 9110 7.6.1: meaningful for one connection only, never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

# Request headers the proxy sets itself, or must not pass on.
REQUEST_REPLACED = frozenset(
    {
        "host",  # Jupyter's DNS-rebinding guard wants its own host
        "authorization",  # the proxy authenticates to Jupyter with the stored token
        "cookie",  # passed on without the session cookie (see without_cookie)
        # Jupyter answers 404 to an API request whose Origin is not its own host; the
        # proxy has already checked Origin against the notebook's origin.
        "origin",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "content-length",  # set again from the body actually sent
        # Bodies come back uncompressed, so the token can be scrubbed from them; the
        # proxy compresses text for the browser itself.
        "accept-encoding",
    }
)

# Set by aiohttp itself on the upstream WebSocket handshake.
WEBSOCKET_HANDSHAKE = frozenset(
    {
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
    }
)


# Response headers that describe the body as Jupyter sent it, wrong once the proxy has
# decoded, scrubbed or compressed it.
BODY_DESCRIBING = frozenset({"content-length", "content-encoding"})


def _connection_tokens(headers: Mapping[str, str]) -> set[str]:
    """Headers named in Connection are hop-by-hop for this message too."""
    return {t.strip().lower() for t in headers.get("Connection", "").split(",") if t.strip()}


def without_cookie(cookie_header: str, name: str) -> str:
    """without_cookie("a=1; nbpresign-session=x; b=2", "nbpresign-session") -> "a=1; b=2"."""
    kept = [c.strip() for c in cookie_header.split(";") if c.strip().split("=", 1)[0] != name]
    return "; ".join(kept)


def upstream_request_headers(
    headers: CIMultiDictProxy[str],
    *,
    jupyter_token: str,
    session_cookie: str,
    peer: str,
    public_host: str,
    public_scheme: str,
    websocket: bool = False,
) -> CIMultiDict[str]:
    dropped = HOP_BY_HOP | REQUEST_REPLACED | _connection_tokens(headers)
    if websocket:
        dropped |= WEBSOCKET_HANDSHAKE
    out = CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in dropped)
    if "Content-Length" in headers and not websocket:
        out["Content-Length"] = headers["Content-Length"]
    cookies = without_cookie(headers.get("Cookie", ""), session_cookie)
    if cookies:
        out["Cookie"] = cookies
    if jupyter_token:
        out["Authorization"] = f"token {jupyter_token}"
    previous = headers.get("X-Forwarded-For")
    out["X-Forwarded-For"] = f"{previous}, {peer}" if previous else peer
    out["X-Forwarded-Host"] = public_host
    out["X-Forwarded-Proto"] = public_scheme
    return out


def downstream_response_headers(
    headers: CIMultiDictProxy[str],
    *,
    upstream_origin: str,
    public_origin: str,
    scrub: Callable[[str], str],
    rewritten_body: bool,
) -> CIMultiDict[str]:
    """`rewritten_body`: the proxy changes the body (decodes, scrubs, compresses), so its
    length and encoding are no longer Jupyter's."""
    dropped = HOP_BY_HOP | _connection_tokens(headers)
    if rewritten_body:
        dropped |= BODY_DESCRIBING
    out = CIMultiDict(
        (k, scrub(v))
        for k, v in headers.items()
        if k.lower() not in dropped and scrub(k) == k  # a name that spells the token: gone
    )
    location = out.get("Location")
    if location:
        out["Location"] = locations.from_upstream(
            location, upstream_origin=upstream_origin, public_origin=public_origin
        )
    return out


def for_upstream(
    request: web.BaseRequest,
    *,
    jupyter_token: str,
    public_origin: str,
    session_cookie: str,
    websocket: bool,
) -> CIMultiDict[str]:
    """upstream_request_headers for an aiohttp request to a notebook."""
    return upstream_request_headers(
        request.headers,
        jupyter_token=jupyter_token,
        session_cookie=session_cookie,
        peer=request.remote or "",
        public_host=request.host,
        public_scheme=public_origin.split(":", 1)[0],
        websocket=websocket,
    )
