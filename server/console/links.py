"""Where a refused notebook link sends the browser: the console's sign-in page, on the API
host, saying why.

    console_url None          http://<loopback>:<its port>/_nbpresign/sign-in?reason=link
    console_url "https://c/"  https://c/_nbpresign/sign-in?reason=link
    sign_in_url "https://x"   https://x (an override, used as it is)
"""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from nbpresign.server.notebooks.urls import UrlTemplate
from nbpresign.server.process.front import Handler, Route
from nbpresign.server.proxy.app import SignInLocation
from nbpresign.server.proxy.pages import SIGN_IN_PATH


def sign_in_location(
    *, console_url: str | None, sign_in_url: str | None, loopback_host: str
) -> SignInLocation:
    def locate(request: web.BaseRequest, reason: str) -> str:
        if sign_in_url:
            return sign_in_url
        base = console_url or f"{request.scheme}://{loopback_host}:{request.url.port}/"
        query = f"?{urlencode({'reason': reason})}" if reason else ""
        return base.rstrip("/") + SIGN_IN_PATH + query

    return locate


def notebook_sign_in_route(urls: UrlTemplate, locate: SignInLocation) -> Route:
    """GET /_nbpresign/sign-in on a notebook host: on to the console's, keeping ?reason=."""

    async def redirect(request: web.BaseRequest) -> web.StreamResponse:
        target = locate(request, request.query.get("reason", ""))
        return web.Response(status=302, headers={"Location": target, "Cache-Control": "no-store"})

    def route(request: web.BaseRequest) -> Handler | None:
        if request.path == SIGN_IN_PATH and urls.match(request.host, request.path) is not None:
            return redirect
        return None

    return route
