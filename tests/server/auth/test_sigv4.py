"""SigV4 verification against real keys in storage, with requests signed by botocore."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.fernet import Fernet

from nbpresign.common.errors import ServiceError
from nbpresign.server.auth import sigv4
from nbpresign.server.auth.authenticator import Authenticator
from nbpresign.server.iam.identities import ACTIVE, AccessKey, User
from nbpresign.server.iam.sealing import SecretBox
from nbpresign.server.storage.opening import open_storage

NOW = datetime(2026, 11, 22, 1, 2, 3, tzinfo=UTC)
KEY_ID, SECRET = "AKIATESTTESTTEST0001", "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3"
BODY = b'{"NotebookInstanceName": "nb"}'


@pytest.fixture
async def authenticator(tmp_path: Path) -> AsyncIterator[Authenticator]:
    storage = await open_storage(None, tmp_path)
    box = SecretBox(Fernet.generate_key())
    await storage.add_user(User("alice", 0.0))
    await storage.add_access_key(AccessKey(KEY_ID, "alice", box.seal(SECRET), ACTIVE, 0.0))
    yield Authenticator(
        storage, box, region="us-east-1", account_id="123456789012", clock=NOW.timestamp
    )
    await storage.close()


def signed(
    *,
    key_id: str = KEY_ID,
    secret: str = SECRET,
    at: datetime = NOW,
    region: str = "us-east-1",
    service: str = "sagemaker",
    body: bytes = BODY,
    sent_body: bytes | None = None,
    extra: dict[str, str] | None = None,
) -> sigv4.SignedRequest:
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:8080/",
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "SageMaker.X",
            **(extra or {}),
        },
    )
    signer = SigV4Auth(Credentials(key_id, secret), service, region)
    request.context["timestamp"] = at.strftime("%Y%m%dT%H%M%SZ")
    request.headers["X-Amz-Date"] = request.context["timestamp"]
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    names = sorted({*headers, "host"})
    scope = f"{key_id}/{at:%Y%m%d}/{region}/{service}/aws4_request"
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    headers["host"] = "127.0.0.1:8080"
    return sigv4.SignedRequest(
        "POST",
        "127.0.0.1:8080",
        "/",
        "",
        headers,
        sigv4.sha256_hex(sent_body if sent_body is not None else body),
    )


async def test_a_good_signature_names_the_principal(authenticator: Authenticator) -> None:
    principal = await authenticator.authenticate(signed())
    assert principal.arn == "arn:aws:iam::123456789012:user/alice"
    assert principal.access_key_id == KEY_ID


async def failure(authenticator: Authenticator, request: sigv4.SignedRequest) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        await authenticator.authenticate(request)
    return caught.value


async def test_unknown_key(authenticator: Authenticator) -> None:
    error = await failure(authenticator, signed(key_id="AKIANOBODYNOBODY0000"))
    assert (error.code.aws, error.message) == ("UnrecognizedClientException", sigv4.INVALID_TOKEN)


async def test_wrong_secret(authenticator: Authenticator) -> None:
    error = await failure(authenticator, signed(secret="wrong"))
    assert (error.code.aws, error.message) == (
        "InvalidSignatureException",
        sigv4.SIGNATURE_MISMATCH,
    )


async def test_a_changed_body_breaks_the_signature(authenticator: Authenticator) -> None:
    error = await failure(authenticator, signed(sent_body=b'{"NotebookInstanceName": "other"}'))
    assert error.code.aws == "InvalidSignatureException"


async def test_a_claimed_body_hash_must_be_the_real_one(authenticator: Authenticator) -> None:
    # Signing x-amz-content-sha256 for another body does not make the server trust it.
    other = sigv4.sha256_hex(b"{}")
    error = await failure(
        authenticator, signed(body=b"{}", sent_body=BODY, extra={"X-Amz-Content-SHA256": other})
    )
    assert "x-amz-content-sha256" in error.message


@pytest.mark.parametrize(
    ("minutes", "start"),
    [
        (
            -6,
            "Signature expired: 20261122T005603Z is now earlier than 20261122T005703Z (20261122T010203Z - 5 min.)",
        ),
        (
            6,
            "Signature not yet current: 20261122T010803Z is still later than 20261122T010703Z (20261122T010203Z + 5 min.)",
        ),
    ],
)
async def test_clock_skew(authenticator: Authenticator, minutes: int, start: str) -> None:
    from datetime import timedelta

    error = await failure(authenticator, signed(at=NOW + timedelta(minutes=minutes)))
    assert (error.code.aws, error.message) == ("InvalidSignatureException", start)


async def test_within_the_skew_window_is_fine(authenticator: Authenticator) -> None:
    from datetime import timedelta

    assert await authenticator.authenticate(signed(at=NOW - timedelta(minutes=4, seconds=59)))


async def test_wrong_service_and_region(authenticator: Authenticator) -> None:
    assert (
        "correct service: 'sagemaker'"
        in (await failure(authenticator, signed(service="s3"))).message
    )
    assert "valid region" in (await failure(authenticator, signed(region="eu-west-1"))).message


async def test_missing_and_unparseable_authorization(authenticator: Authenticator) -> None:
    request = signed()
    bare = sigv4.SignedRequest(
        "POST",
        request.host,
        "/",
        "",
        {k: v for k, v in request.headers.items() if k != "authorization"},
        request.body_sha256,
    )
    error = await failure(authenticator, bare)
    assert (error.code.aws, error.message) == (
        "MissingAuthenticationToken",
        "Missing Authentication Token",
    )
    garbled = sigv4.SignedRequest(
        "POST",
        request.host,
        "/",
        "",
        {**request.headers, "authorization": "AWS4-HMAC-SHA256 Credential=x"},
        request.body_sha256,
    )
    error = await failure(authenticator, garbled)
    assert error.code.aws == "IncompleteSignature"
    assert "'Signature'" in error.message


async def test_the_date_must_agree_with_the_scope(authenticator: Authenticator) -> None:
    request = signed()
    moved = sigv4.SignedRequest(
        "POST",
        request.host,
        "/",
        "",
        {**request.headers, "x-amz-date": "20261121T010203Z"},
        request.body_sha256,
    )
    error = await failure(authenticator, moved)
    assert error.message.startswith("Date in Credential scope does not match")


def with_headers(request: sigv4.SignedRequest, **changed: str) -> sigv4.SignedRequest:
    return dataclasses.replace(request, headers={**request.headers, **changed})


@pytest.mark.parametrize(
    "value",
    [
        "caf\udce9",  # Latin-1 "café" as aiohttp reads it (a surrogate escape)
        "\udcff\udcfe",  # bytes that are not UTF-8 at all
        "café",  # valid UTF-8, still not ASCII: clients send header values as Latin-1
    ],
)
async def test_a_signed_header_outside_ascii_is_refused(
    authenticator: Authenticator, value: str
) -> None:
    request = signed(extra={"X-Custom": "plain"})
    error = await failure(authenticator, with_headers(request, **{"x-custom": value}))
    assert (error.code.aws, error.code.http) == ("InvalidSignatureException", 400)
    assert error.message == (
        "The value of the signed header 'x-custom' must hold printable ASCII characters only."
    )


async def test_an_unsigned_header_outside_ascii_does_not_matter(
    authenticator: Authenticator,
) -> None:
    request = with_headers(signed(), **{"x-unsigned": "\udcff caf\u00e9"})
    assert (await authenticator.authenticate(request)).user_name == "alice"


@pytest.mark.parametrize(
    "host",
    [
        "[",
        "]",
        "[::1",
        "[zz]",
        "[1.2.3.4]",
        "",
        "a b",
        "a/b",
        "h\udcff",
        "hé",
        "a@b",
        "a?b",
        "a:123456",
    ],
)
async def test_a_host_no_url_can_hold_is_refused(authenticator: Authenticator, host: str) -> None:
    error = await failure(authenticator, with_headers(signed(), host=host))
    assert (error.code.aws, error.code.http) == ("InvalidSignatureException", 400)
    assert error.message.startswith("The Host header must be a host name or address")


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:8080", "localhost", "api.example.com:443", "[::1]:80", "[::ffff:1.2.3.4]", "x:"],
)
def test_valid_hosts(host: str) -> None:
    assert sigv4.is_valid_host(host)


@pytest.mark.parametrize(
    "authorization",
    [
        "AWS4-HMAC-SHA256 Credential=\udcff/20261122/us-east-1/sagemaker/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKIA\u00e9/20261122/us-east-1/sagemaker/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKIA/20261122/us-east-1/sagemaker/aws4_request, SignedHeaders=host;\udcff, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKIA/20261122/us-east-1/sagemaker/aws4_request, SignedHeaders=host;x-amz-date, Signature=\udcff",
        "AWS4-HMAC-SHA256 Credential=AK\x00IA/20261122/us-east-1/sagemaker/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
    ],
)
async def test_an_authorization_outside_printable_ascii_is_incomplete(
    authenticator: Authenticator, authorization: str
) -> None:
    error = await failure(authenticator, with_headers(signed(), authorization=authorization))
    assert (error.code.aws, error.message) == (
        "IncompleteSignature",
        "The Authorization header must hold printable ASCII characters only.",
    )


@pytest.mark.parametrize(
    ("path", "query"), [("[", ""), ("", ""), ("/", "a=\udcff"), ("/\u00e9", "")]
)
async def test_a_path_no_url_can_hold_is_refused(
    authenticator: Authenticator, path: str, query: str
) -> None:
    # Over HTTP aiohttp refuses such request lines; a gateway's AuthenticateRequest may not.
    request = dataclasses.replace(signed(), path=path, query=query)
    error = await failure(authenticator, request)
    assert error.message.startswith("The request path must start with '/'")
