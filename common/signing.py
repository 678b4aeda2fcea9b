"""Signs gRPC calls with SigV4 (botocore's signer), for nbpresign.client and the gateway.

A gRPC call is signed over a fixed canonical request: POST <method path>, no query,
host: grpc.nbpresign, x-amz-date, any x-nbpresign-* metadata, and the serialized request
message as the payload; scope DATE/REGION/sagemaker/aws4_request.
"""

from __future__ import annotations

from collections.abc import Mapping

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICE = "sagemaker"  # the signing name, as in the SageMaker service model
GRPC_HOST = "grpc.nbpresign"  # the host every gRPC call is signed for


def sign_grpc_call(
    credentials: Credentials,
    region: str,
    method_path: str,
    body: bytes,
    extra: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """The metadata that authenticates one call: authorization, x-amz-date, and `extra`
    (x-nbpresign-* entries), which the signature covers too."""
    headers = {name.lower(): value for name, value in (extra or {}).items()}
    request = AWSRequest(
        method="POST", url=f"https://{GRPC_HOST}{method_path}", data=body, headers=headers
    )
    SigV4Auth(credentials, SERVICE, region).add_auth(request)
    metadata = [(name.lower(), str(value)) for name, value in request.headers.items()]
    return metadata
