"""The HTTP port's front: each request goes to the one app that owns it, chosen first.

    Front([sign_in_route, notebook_route(urls, proxy)], default=api)

A route looks at a request (its Host, and its path for path-prefix notebooks) and answers
the handler that owns it, bound to what it matched, or None. The first that answers wins;
the default (the API host) takes the rest. No app's checks run for another app's requests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from aiohttp import web

from nbpresign.server.notebooks.urls import NotebookAddress, UrlTemplate

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]
Route = Callable[[web.BaseRequest], Handler | None]


class Front:
    def __init__(self, routes: Sequence[Route], *, default: Handler) -> None:
        self._routes = tuple(routes)
        self._default = default

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        for route in self._routes:
            handler = route(request)
            if handler is not None:
                return await handler(request)
        return await self._default(request)


class NotebookApp(Protocol):
    async def serve(
        self, request: web.BaseRequest, address: NotebookAddress
    ) -> web.StreamResponse: ...


def notebook_route(urls: UrlTemplate, proxy: NotebookApp) -> Route:
    """Requests whose Host (and path) the URL template names a notebook by."""

    def route(request: web.BaseRequest) -> Handler | None:
        address = urls.match(request.host, request.path)
        if address is None:
            return None

        async def handle(request: web.BaseRequest) -> web.StreamResponse:
            return await proxy.serve(request, address)

        return handle

    return route


def path_route(path: str, handler: Handler) -> Route:
    """Requests for exactly `path`, on any host."""

    def route(request: web.BaseRequest) -> Handler | None:
        return handler if request.path == path else None

    return route
