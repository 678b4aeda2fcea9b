"""Memory under hostile traffic: the RSS of a real `serve` across 100,000 bad requests.

    python bench/hostile.py [--requests 100000] [--connections 8] [--out bench/hostile.json]

Every request is one the service refuses (unsigned, oversized, not JSON, too deep, a bad
or unknown signature, a Host no URL can hold, a signed header outside ASCII, a made-up
NextToken, a NUL in a member, ...), sent round-robin over keep-alive connections from
this process (raw sockets: no HTTP client sends most of these). The RSS is read from
/proc after a warm-up, then every 10,000 requests; an exception kept and raised again,
or anything else a refusal leaves behind, shows as growth. Exits 1 if the RSS grew by
more than --max-growth-mib, if any answer was a 5xx, or if the server logged a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from run import identity_of, launch, rss_kib  # noqa: E402

from nbpresign.client.credentials import SigningIdentity  # noqa: E402

from notebooks import free_port  # noqa: E402

JSON_11 = b"application/x-amz-json-1.1"
WARM_UP = 5_000
SAMPLE_EVERY = 10_000


def request(host: bytes, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    lines = [b"POST / HTTP/1.1", b"Host: " + host, *(k + b": " + v for k, v in headers)]
    lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def signed(
    identity: SigningIdentity, port: int, target: str, body: bytes
) -> list[tuple[bytes, bytes]]:
    aws = AWSRequest(
        method="POST",
        url=f"http://127.0.0.1:{port}/",
        data=body,
        headers={"Content-Type": JSON_11.decode(), "X-Amz-Target": f"SageMaker.{target}"},
    )
    SigV4Auth(identity.credentials, "sagemaker", identity.region).add_auth(aws)
    return [(k.encode(), v.encode()) for k, v in aws.headers.items()]


def hostile_requests(identity: SigningIdentity, port: int) -> dict[str, bytes]:
    """One request of each kind, signed now (a signature is good for 5 minutes)."""
    host = f"127.0.0.1:{port}".encode()
    target = [(b"Content-Type", JSON_11), (b"X-Amz-Target", b"SageMaker.ListNotebookInstances")]
    key_id = identity.credentials.access_key.encode()
    made_up = [
        *target,
        (b"X-Amz-Date", time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()).encode()),
        (
            b"Authorization",
            b"AWS4-HMAC-SHA256 Credential=" + key_id
            + time.strftime("/%Y%m%d/us-east-1/sagemaker/aws4_request", time.gmtime()).encode()
            + b", SignedHeaders=content-type;host;x-amz-date;x-amz-target;x-custom, Signature="
            + b"0" * 64,
        ),
    ]  # fmt: skip

    def with_key(list_body: bytes) -> bytes:
        return request(host, signed(identity, port, "ListNotebookInstances", list_body), list_body)

    forged = base64.urlsafe_b64encode(b"[" * 5000).decode()
    return {
        "unsigned": request(host, target, b"{}"),
        "oversized": request(host, target, b" " * (64 * 1024 + 1)),
        "not JSON": with_key(b"{not json"),
        "too deep": with_key(b'{"NextToken": ' + b"[" * 2000 + b"}"),
        "made-up NextToken": with_key(json.dumps({"NextToken": forged}).encode()),
        "NUL in a member": with_key(b'{"NameContains": "a\\u0000b"}'),
        "unknown member": with_key(b'{"Nope": 1}'),
        "bad signature": request(host, [*made_up, (b"X-Custom", b"x")], b"{}"),
        "signed header not ASCII": request(host, [*made_up, (b"X-Custom", b"\xff\xfe")], b"{}"),
        "Host: [": request(b"[", [*made_up, (b"X-Custom", b"x")], b"{}"),
        "unknown key": request(host, [(k, v.replace(key_id, b"AKIANOBODYNOBODY0000")) for k, v in made_up], b"{}"),
        "no such target": request(
            host, signed(identity, port, "Nope", b"{}"), b"{}"
        ),
    }  # fmt: skip


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """The status of one response, and whether the server keeps the connection open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {
        k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
    }
    await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection", "").lower() != "close"


@dataclass
class Load:
    port: int
    pid: int
    requests: dict[str, bytes]
    resign: Callable[[], dict[str, bytes]]
    statuses: Counter[int]
    samples: list[tuple[int, int]]  # (requests sent, RSS KiB)
    sent: int = 0

    def next_request(self) -> bytes:
        kinds = list(self.requests.values())
        self.sent += 1
        if self.sent % 20_000 == 0:  # long before the 5 minutes a signature is good for
            self.requests = self.resign()
        if self.sent == WARM_UP or self.sent % SAMPLE_EVERY == 0:
            self.samples.append((self.sent, rss_kib(self.pid)))
        return kinds[self.sent % len(kinds)]


async def connection(load: Load, total: int) -> None:
    reader = writer = None
    while load.sent < total:
        if writer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", load.port)
        assert reader is not None
        writer.write(load.next_request())
        try:
            status, keep = await read_answer(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            load.statuses[0] += 1  # closed on us: counted, then a new connection
            keep = False
        else:
            load.statuses[status] += 1
        if not keep:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


def drain(stream: IO[str], lines: list[str]) -> None:
    """Keeps the server's log flowing (a full pipe would block it) and keeps it to read."""
    for line in stream:
        lines.append(line)


def run(args: argparse.Namespace) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="nbpresign-hostile-"))
    grpc_port, http_port = free_port(), free_port()
    server = launch(
        sys.executable, "-m", "nbpresign.cli", "serve", "--data-dir", str(data),
        "--grpc-port", str(grpc_port), "--http-port", str(http_port),
    )  # fmt: skip
    log: list[str] = []
    assert server.stdout is not None
    threading.Thread(target=drain, args=(server.stdout, log), daemon=True).start()
    try:
        identity = identity_of(data)

        def resign() -> dict[str, bytes]:
            return hostile_requests(identity, http_port)

        load = Load(http_port, server.pid, resign(), resign, Counter(), [])
        started = time.monotonic()

        async def all_connections() -> None:
            await asyncio.gather(
                *(connection(load, args.requests) for _ in range(args.connections))
            )

        asyncio.run(all_connections())
        seconds = time.monotonic() - started
        time.sleep(1)  # let the last responses' buffers go
        load.samples.append((load.sent, rss_kib(server.pid)))
    finally:
        server.terminate()
        server.wait(timeout=30)
    before, after = load.samples[0][1], load.samples[-1][1]
    return {
        "requests": load.sent,
        "seconds": round(seconds, 1),
        "kinds": list(load.requests),
        "statuses": {str(k): v for k, v in sorted(load.statuses.items())},
        "rss_kib_after_warm_up": before,
        "rss_kib_end": after,
        "growth_kib": after - before,
        "samples": load.samples,
        "tracebacks": sum("Traceback" in line for line in log),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--max-growth-mib", type=float, default=8.0)
    parser.add_argument("--out", type=Path, default=HERE / "hostile.json")
    args = parser.parse_args()
    results = run(args)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    mib = 1024
    print(
        f"{results['requests']} hostile requests ({len(results['kinds'])} kinds) in {results['seconds']} s"
    )
    print(f"statuses: {results['statuses']}; tracebacks logged: {results['tracebacks']}")
    print(
        f"RSS after {WARM_UP} warm-up requests {results['rss_kib_after_warm_up'] / mib:.1f} MiB, "
        f"at the end {results['rss_kib_end'] / mib:.1f} MiB, "
        f"growth {results['growth_kib'] / mib:+.2f} MiB"
    )
    print("samples (requests, MiB):", [(n, round(k / mib, 1)) for n, k in results["samples"]])
    failed = (
        results["growth_kib"] > args.max_growth_mib * mib
        or results["tracebacks"]
        or any(int(s) >= 500 for s in results["statuses"])
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
