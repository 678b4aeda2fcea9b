"""The gRPC limit: a bare grpc.aio server whose one unary handler returns a constant message."""

from __future__ import annotations

import asyncio
import sys

import grpc

from nbpresign.v1 import presign_pb2

ANSWER = presign_pb2.CreatePresignedNotebookInstanceUrlResponse(
    authorized_url="http://bench.localhost:8080/?authToken=" + "x" * 380
).SerializeToString()


async def handle(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    return ANSWER


async def main(port: int) -> None:
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
    asyncio.run(main(int(sys.argv[1])))
