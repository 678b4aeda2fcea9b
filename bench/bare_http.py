"""The HTTP limit: a bare aiohttp handler returning a constant JSON body."""

from __future__ import annotations

import sys

from aiohttp import web

BODY = b'{"AuthorizedUrl": "http://bench.localhost:8080/?authToken=' + b"x" * 380 + b'"}'


async def handle(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=BODY, content_type="application/x-amz-json-1.1")


if __name__ == "__main__":
    app = web.Application()
    app.router.add_post("/", handle)
    print("ready", flush=True)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
