"""The front: each request reaches the one handler that owns it, first match wins."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from nbpresign.server.notebooks.urls import NotebookAddress, UrlTemplate
from nbpresign.server.process.front import Front, notebook_route, path_route

URLS = UrlTemplate("http://{name}.localhost:{port}/", "us-east-1", 8080)


def answer(text: str):  # type: ignore[no-untyped-def]
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response(text=text)

    return handler


class Proxy:
    def __init__(self) -> None:
        self.seen: list[NotebookAddress] = []

    async def serve(self, request: web.BaseRequest, address: NotebookAddress) -> web.StreamResponse:
        self.seen.append(address)
        return web.Response(text="proxy")


async def route(host: str, path: str) -> tuple[str, Proxy]:
    proxy = Proxy()
    front = Front(
        [path_route("/_nbpresign/sign-in", answer("sign-in")), notebook_route(URLS, proxy)],
        default=answer("api"),
    )
    response = await front(make_mocked_request("GET", path, headers={"Host": host}))
    assert isinstance(response, web.Response)
    return str(response.text), proxy


async def test_notebook_hosts_go_to_the_proxy_with_their_address() -> None:
    text, proxy = await route("mynb.localhost:8080", "/lab")
    assert text == "proxy"
    assert proxy.seen == [NotebookAddress("mynb", "/")]


async def test_everything_else_is_the_api() -> None:
    for host in ("127.0.0.1:8080", "localhost:8080", "mynb.localhost:9999", "evil.example"):
        assert (await route(host, "/"))[0] == "api"


async def test_the_first_route_that_answers_wins() -> None:
    assert (await route("mynb.localhost:8080", "/_nbpresign/sign-in"))[0] == "sign-in"
