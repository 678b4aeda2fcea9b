"""The HTTP floor: the bare aiohttp handler plus the library work of floor_work.py, and
protobuf's json_format both ways (the gateway's marshalling)."""

from __future__ import annotations

import sys

from aiohttp import web
from floor_work import secret, signature_ok, token_url
from google.protobuf import json_format

from nbpresign.v1 import presign_pb2

SECRET = secret()


async def handle(request: web.Request) -> web.Response:
    body = await request.read()
    headers = {k.lower(): v for k, v in request.headers.items()}
    if not signature_ok(
        host=request.host, path=request.path, headers=headers, body=body, secret=SECRET
    ):
        return web.Response(status=403)
    message = json_format.Parse(body, presign_pb2.CreatePresignedNotebookInstanceUrlRequest())
    url = token_url(message.notebook_instance_name, message.session_expiration_duration_in_seconds)
    answer = presign_pb2.CreatePresignedNotebookInstanceUrlResponse(authorized_url=url)
    return web.Response(
        text=json_format.MessageToJson(answer, indent=None),
        content_type="application/x-amz-json-1.1",
    )


if __name__ == "__main__":
    app = web.Application()
    app.router.add_post("/", handle)
    print("ready", flush=True)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
