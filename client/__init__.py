"""Python clients for nbpresign, over gRPC.

    with Client("127.0.0.1:50051") as nb:
        url = nb.create_presigned_notebook_instance_url("my-notebook", 3600)

    async with AsyncClient("127.0.0.1:50051") as nb:
        url = await nb.create_presigned_notebook_instance_url("my-notebook")

Failures raise NbpresignError, with the AWS error code, the message and any field
violations.
"""

from __future__ import annotations

from nbpresign.client.aio import AsyncClient
from nbpresign.client.errors import NbpresignError
from nbpresign.client.sync import Client

__all__ = ["AsyncClient", "Client", "NbpresignError"]
