"""The gRPC limit: a bare grpc.aio server whose one unary handler returns a constant message."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

import grpc

from nbpresign.v1 import presign_pb2

Handler = Callable[[bytes, "grpc.aio.ServicerContext[bytes, bytes]"], Awaitable[bytes]]


ANSWER = presign_pb2.CreatePresignedNotebookInstanceUrlResponse(
    authorized_url="http://bench.localhost:8080/?authToken=" + "x" * 380
).SerializeToString()


async def handle(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    return ANSWER


async def serve(port: int, handle: Handler) -> None:
    """A grpc.aio server with `handle` as its one presign method (bytes in, bytes out)."""
    server = grpc.aio.server()
    handler = grpc.unary_unary_rpc_method_handler(handle)  # bytes in, bytes out
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                "nbpresign.v1.PresignService", {"CreatePresignedNotebookInstanceUrl": handler}
            )
        ]
    )
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print("ready", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), handle))
