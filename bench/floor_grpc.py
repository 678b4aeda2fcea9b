"""The gRPC floor: the bare grpc.aio handler plus the library work of floor_work.py."""

from __future__ import annotations

import asyncio
import sys

import grpc
from bare_grpc import serve
from floor_work import secret, signature_ok, token_url

from nbpresign.v1 import presign_pb2

HOST = "grpc.nbpresign"
PATH = "/nbpresign.v1.PresignService/CreatePresignedNotebookInstanceUrl"
SECRET = secret()


async def handle(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    headers = {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
    if not signature_ok(host=HOST, path=PATH, headers=headers, body=request, secret=SECRET):
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, "signature")
    message = presign_pb2.CreatePresignedNotebookInstanceUrlRequest.FromString(request)
    url = token_url(message.notebook_instance_name, message.session_expiration_duration_in_seconds)
    return presign_pb2.CreatePresignedNotebookInstanceUrlResponse(
        authorized_url=url
    ).SerializeToString()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), handle))
