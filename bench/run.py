"""The benchmark: nbpresign against the fastest things it could be, in one run, here.

    python bench/run.py [--seconds 10] [--out bench/results.json] [--soak SECONDS]
    python bench/run.py --only proxy-websockets    # that scenario alone, merged into --out

Scenarios, each driven by a load generator in its own process:
    grpc-bare        a bare grpc.aio handler returning a constant message      (h2load)
    grpc-floor       the bare handler + botocore SigV4 check + PyJWT token      (h2load)
    grpc-presign     CreatePresignedNotebookInstanceUrl over gRPC, SigV4 on     (h2load)
    http-bare        a bare aiohttp handler returning constant JSON            (wrk)
    http-floor       the bare handler + SigV4 + PyJWT + json_format both ways  (wrk)
    http-presign     the same call through the AWS JSON gateway, SigV4+policy   (wrk)
    *-presign-pg     the two presign paths again, on PostgreSQL                 (h2load, wrk)
    redeem+proxy     open a URL (redeem, 303, cookie) then GET /api/status     (Python, aiohttp)
    proxy-websockets 2,000 proxied WebSockets open across 20 notebooks, GET
                     /api/status through the proxy at a steady rate meanwhile  (Python, aiohttp)
then p99 at half of each presign path's maximum rate (h2load --rps), and gRPC presign with
10 and with 100,000 registered instances (two services side by side, measured in alternating
rounds; the median round of each is kept). Prints a table; writes the same as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from loads import Stats, from_latencies, h2load, lua_post, wrk  # noqa: E402
from websocket_scenario import run_scenario, summary  # noqa: E402

from nbpresign.client import Client  # noqa: E402
from nbpresign.client.credentials import SigningIdentity  # noqa: E402
from nbpresign.common.signing import sign_grpc_call  # noqa: E402
from nbpresign.v1 import presign_pb2  # noqa: E402

from databases import create_database, drop_database  # noqa: E402
from notebooks import Jupyter, free_port, start_jupyter, stop_jupyter  # noqa: E402

PRESIGN_PATH = "/nbpresign.v1.PresignService/CreatePresignedNotebookInstanceUrl"
CLIENTS, STREAMS, WRK_CONNECTIONS = 8, 8, 32
REGISTRY_SMALL, REGISTRY_ROUNDS = 10, 3


def launch(*command: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "ready" in line or "AWS JSON gateway on" in line:
            return process
    raise RuntimeError(f"{command[:3]} did not start")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def identity_of(data_dir: Path) -> SigningIdentity:
    from conftest import identity_of as read

    return read(data_dir)


def grpc_frame(message: bytes) -> bytes:
    return b"\x00" + len(message).to_bytes(4, "big") + message


def grpc_presign_load(
    port: int, identity: SigningIdentity | None, name: str
) -> tuple[bytes, list[tuple[str, str]]]:
    """The body and headers of one presign call, signed now (valid for the next 5 minutes)."""
    request = presign_pb2.CreatePresignedNotebookInstanceUrlRequest(
        notebook_instance_name=name, session_expiration_duration_in_seconds=3600
    )
    message = request.SerializeToString()
    headers = [("content-type", "application/grpc"), ("te", "trailers")]
    if identity is not None:
        headers += sign_grpc_call(identity.credentials, identity.region, PRESIGN_PATH, message)
    return grpc_frame(message), headers


def http_presign_load(
    port: int, identity: SigningIdentity, name: str
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {"NotebookInstanceName": name, "SessionExpirationDurationInSeconds": 3600}
    ).encode()
    request = AWSRequest(
        method="POST",
        url=f"http://127.0.0.1:{port}/",
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "SageMaker.CreatePresignedNotebookInstanceUrl",
        },
    )
    SigV4Auth(identity.credentials, "sagemaker", identity.region).add_auth(request)
    return body, dict(request.headers.items())


def check_grpc(port: int, headers: list[tuple[str, str]], name: str) -> None:
    """h2load counts HTTP 200 as success whatever the grpc-status: make one real call first."""
    metadata = tuple((k, v) for k, v in headers if k in ("authorization", "x-amz-date"))
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary(
            PRESIGN_PATH, request_serializer=None, response_deserializer=None
        )
        request = presign_pb2.CreatePresignedNotebookInstanceUrlRequest(
            notebook_instance_name=name, session_expiration_duration_in_seconds=3600
        )
        call(request.SerializeToString(), metadata=metadata or None, timeout=10)


def bulk_register(data_dir: Path, count: int) -> None:
    """Registry size: `count` rows written straight into the service's SQLite file (fast)."""
    now = time.time()
    with sqlite3.connect(data_dir / "nbpresign.sqlite3", timeout=30) as db:
        db.executemany(
            "INSERT OR IGNORE INTO notebook_instances (key, name, jupyter_url, jupyter_token, status, creation_time, last_modified_time) "
            "VALUES (?, ?, 'http://127.0.0.1:9/', '', 'InService', ?, ?)",
            ((f"filler-{i}", f"filler-{i}", now, now) for i in range(count)),
        )


@dataclass
class Service:
    pid: int
    grpc_port: int
    http_port: int
    identity: SigningIdentity


def start_service(
    data: Path,
    jupyter: Jupyter,
    processes: list[subprocess.Popen[str]],
    *,
    instances: int = 1,
    db: str | None = None,
) -> Service:
    """`nbpresign serve` on fresh ports with `instances` registered: "bench" (the real
    Jupyter server) and fillers (SQLite only); on PostgreSQL when `db` is a URL."""
    grpc_port, http_port = free_port(), free_port()
    server = launch(
        sys.executable,
        "-m",
        "nbpresign.cli",
        "serve",
        "--data-dir",
        str(data),
        "--grpc-port",
        str(grpc_port),
        "--http-port",
        str(http_port),
        *(["--db", db] if db else []),
    )
    processes.append(server)
    identity = identity_of(data)
    with Client(f"127.0.0.1:{grpc_port}", identity=identity) as client:
        client.register_notebook_instance("bench", jupyter.url, jupyter.token)
    if instances > 1:
        bulk_register(data, instances - 1)
    return Service(server.pid, grpc_port, http_port, identity)


def median_of(runs: list[Stats]) -> Stats:
    """The run with the median rate (its own p50 and p99 kept together)."""
    return sorted(runs, key=lambda r: r.rps)[len(runs) // 2]


def mint_urls(port: int, identity: SigningIdentity, name: str, count: int) -> list[str]:
    with Client(f"127.0.0.1:{port}", identity=identity) as client:
        return [client.create_presigned_notebook_instance_url(name, 3600) for _ in range(count)]


def run(args: argparse.Namespace) -> dict[str, Any]:
    seconds = args.seconds
    results: dict[str, Any] = {
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "seconds": seconds,
        "scenarios": {},
    }
    scratch = Path(tempfile.mkdtemp(prefix="nbpresign-bench-"))
    processes: list[subprocess.Popen[str]] = []
    (scratch / "notebooks").mkdir()
    jupyter = start_jupyter(scratch / "notebooks")
    try:
        ports = {k: free_port() for k in ("bare_grpc", "bare_http", "floor_grpc", "floor_http")}
        service = start_service(scratch / "data", jupyter, processes, instances=REGISTRY_SMALL)
        ports.update(grpc=service.grpc_port, http=service.http_port)
        identity = service.identity
        processes.append(
            launch(sys.executable, str(HERE / "bare_grpc.py"), str(ports["bare_grpc"]))
        )
        processes.append(
            launch(sys.executable, str(HERE / "bare_http.py"), str(ports["bare_http"]))
        )
        floor_env = {**os.environ, "NBPRESIGN_BENCH_SECRET": identity.credentials.secret_key}
        for floor in ("floor_grpc", "floor_http"):
            processes.append(
                launch(sys.executable, str(HERE / f"{floor}.py"), str(ports[floor]), env=floor_env)
            )
        scenarios = results["scenarios"]

        def record(
            name: str, stats: Stats, limit: str | None = None, floor: str | None = None
        ) -> None:
            entry: dict[str, Any] = stats.as_dict()
            if limit:
                entry["limit"] = limit
                entry["rps_ratio"] = stats.rps / scenarios[limit]["rps"]
            if floor:
                entry["floor"] = floor
                entry["floor_ratio"] = stats.rps / scenarios[floor]["rps"]
            scenarios[name] = entry
            print(
                f"  {name:<28} {stats.rps:>9.0f} req/s  p50 {stats.p50_ms:7.2f} ms  p99 {stats.p99_ms:7.2f} ms  failures {stats.failures}",
                flush=True,
            )

        def grpc_run(
            port: int, signed: bool, who: SigningIdentity = identity, **extra: Any
        ) -> Stats:
            body, headers = grpc_presign_load(port, who if signed else None, "bench")
            if signed:
                check_grpc(port, headers, "bench")
            return h2load(
                f"http://127.0.0.1:{port}{PRESIGN_PATH}",
                body=body,
                headers=headers,
                seconds=seconds,
                clients=CLIENTS,
                streams=STREAMS,
                **extra,
            )

        def http_run(port: int, who: SigningIdentity = identity) -> Stats:
            body, headers = http_presign_load(port, who, "bench")
            return wrk(
                f"http://127.0.0.1:{port}/",
                script=lua_post(body, headers),
                seconds=seconds,
                connections=WRK_CONNECTIONS,
            )

        print("warming up", flush=True)
        grpc_run(ports["grpc"], True)
        http_run(ports["http"])
        print("maximum rate", flush=True)
        record("grpc-bare", grpc_run(ports["bare_grpc"], False))
        record("grpc-floor", grpc_run(ports["floor_grpc"], True), "grpc-bare")
        record("grpc-presign", grpc_run(ports["grpc"], True), "grpc-bare", "grpc-floor")
        record("http-bare", http_run(ports["bare_http"]))
        record("http-floor", http_run(ports["floor_http"]), "http-bare")
        record("http-presign", http_run(ports["http"]), "http-bare", "http-floor")
        if args.postgresql:
            pg = start_service(scratch / "pg", jupyter, processes, db=args.postgresql)
            assert not (scratch / "pg" / "nbpresign.sqlite3").exists(), "not on PostgreSQL"
            record(
                "grpc-presign-pg",
                grpc_run(pg.grpc_port, True, pg.identity),
                "grpc-bare",
                "grpc-floor",
            )
            record(
                "http-presign-pg",
                http_run(pg.http_port, pg.identity),
                "http-bare",
                "http-floor",
            )
        urls = mint_urls(ports["grpc"], identity, "bench", args.redemptions)
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as listing:
            listing.write("\n".join(urls))
            listing.flush()
            out = subprocess.run(
                [
                    sys.executable,
                    str(HERE / "redeem_load.py"),
                    listing.name,
                    str(WRK_CONNECTIONS // 4),
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        measured = json.loads(out)
        record(
            "redeem+proxy",
            from_latencies(measured["latencies"], measured["seconds"], measured["failures"]),
        )
        websockets, detail = proxy_websockets(args, service, jupyter)
        record("proxy-websockets", websockets)
        results["proxy_websockets"] = detail

        print("p99 at half the maximum rate", flush=True)
        half = scenarios["grpc-presign"]["rps"] / 2
        record("grpc-presign@half", grpc_run(ports["grpc"], True, rps_per_client=half / CLIENTS))
        body, headers = http_presign_load(ports["http"], identity, "bench")
        half_http = scenarios["http-presign"]["rps"] / 2
        record(
            "http-presign@half",
            h2load(
                f"http://127.0.0.1:{ports['http']}/",
                body=body,
                headers=list(headers.items()),
                seconds=seconds,
                clients=CLIENTS,
                streams=1,
                rps_per_client=half_http / CLIENTS,
                h1=True,
            ),
        )

        print("registry size", flush=True)
        large = start_service(scratch / "large", jupyter, processes, instances=args.instances)
        rounds: dict[int, list[Stats]] = {REGISTRY_SMALL: [], args.instances: []}
        for _ in range(REGISTRY_ROUNDS):  # alternating, so drift in the machine hits both
            rounds[REGISTRY_SMALL].append(grpc_run(service.grpc_port, True))
            rounds[args.instances].append(grpc_run(large.grpc_port, True, large.identity))
        for count, runs in rounds.items():
            record(f"grpc-presign@{count}", median_of(runs))
        small_stats = scenarios[f"grpc-presign@{REGISTRY_SMALL}"]
        large_stats = scenarios[f"grpc-presign@{args.instances}"]
        results["registry_p50_change"] = large_stats["p50_ms"] / small_stats["p50_ms"] - 1
        results["registry_rps_change"] = large_stats["rps"] / small_stats["rps"] - 1
        results["registry_rounds"] = {
            str(count): [r.as_dict() for r in runs] for count, runs in rounds.items()
        }

        if args.soak:
            results["soak"] = soak(
                service.pid,
                ports["http"],
                identity,
                args.soak,
                scenarios["http-presign"]["rps"] / 2,
            )
    finally:
        for process in processes:
            process.terminate()
            process.communicate(timeout=30)
        stop_jupyter(jupyter)
    return results


def proxy_websockets(
    args: argparse.Namespace, service: Service, jupyter: Jupyter
) -> tuple[Stats, dict[str, Any]]:
    print("2,000 open WebSockets", flush=True)
    stats, detail = run_scenario(
        service.grpc_port,
        service.identity,
        service.pid,
        (jupyter.url, jupyter.token),
        seconds=args.websocket_seconds,
        rate=args.websocket_rate,
    )
    print(f"  {summary(stats, detail)}", flush=True)
    return stats, detail


def run_only_websockets(args: argparse.Namespace) -> dict[str, Any]:
    """The proxy-websockets scenario alone; the other results in --out are kept."""
    results = json.loads(args.out.read_text()) if args.out.exists() else {"scenarios": {}}
    results.setdefault("machine", f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores")
    results.setdefault("seconds", args.seconds)
    scratch = Path(tempfile.mkdtemp(prefix="nbpresign-bench-"))
    (scratch / "notebooks").mkdir()
    processes: list[subprocess.Popen[str]] = []
    jupyter = start_jupyter(scratch / "notebooks")
    try:
        service = start_service(scratch / "data", jupyter, processes)
        stats, detail = proxy_websockets(args, service, jupyter)
    finally:
        for process in processes:
            process.terminate()
            process.communicate(timeout=30)
        stop_jupyter(jupyter)
    results["scenarios"]["proxy-websockets"] = stats.as_dict()
    results["proxy_websockets"] = detail
    return results


def soak(
    pid: int, port: int, identity: SigningIdentity, seconds: int, rate: float
) -> dict[str, Any]:
    """RSS of the server across a long run at `rate`, after a minute of warm-up."""
    body, headers = http_presign_load(port, identity, "bench")
    warmup = min(60, seconds // 5)
    samples: list[tuple[float, int]] = []
    body_file = Path(tempfile.mkdtemp(prefix="nbpresign-soak-")) / "body"
    body_file.write_bytes(body)
    process = subprocess.Popen(
        [
            "h2load",
            f"http://127.0.0.1:{port}/",
            "--h1",
            "-D",
            str(seconds),
            "-c",
            str(CLIENTS),
            f"--rps={rate / CLIENTS:.2f}",
            "-d",
            str(body_file),
        ]
        + [a for k, v in headers.items() for a in ("-H", f"{k}: {v}")],
        stdout=subprocess.DEVNULL,
    )
    start = time.monotonic()
    while process.poll() is None:
        samples.append((time.monotonic() - start, rss_kib(pid)))
        time.sleep(5)
    after_warmup = [rss for t, rss in samples if t >= warmup]
    return {
        "seconds": seconds,
        "rate": rate,
        "rss_kib_after_warmup": after_warmup[0] if after_warmup else None,
        "rss_kib_end": samples[-1][1] if samples else None,
        "growth": (samples[-1][1] / after_warmup[0] - 1) if after_warmup else None,
    }


def table(results: dict[str, Any]) -> str:
    lines = [
        f"machine: {results['machine']}; {results['seconds']} s per scenario",
        "",
        "| scenario | req/s | p50 ms | p99 ms | ratio to its limit | ratio to its floor |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, s in results["scenarios"].items():
        ratio = f"{s['rps_ratio']:.2f} of {s['limit']}" if "rps_ratio" in s else ""
        floor = f"{s['floor_ratio']:.2f} of {s['floor']}" if "floor_ratio" in s else ""
        lines.append(
            f"| {name} | {s['rps']:.0f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {ratio} | {floor} |"
        )
    lines.append("")
    if "registry_p50_change" in results:
        lines.append(
            f"registry 10 -> many: p50 {results['registry_p50_change']:+.1%}, req/s {results['registry_rps_change']:+.1%}"
        )
    if "proxy_websockets" in results:
        ws = results["proxy_websockets"]
        lines.append(
            f"proxy-websockets: {ws['websockets_open_at_end']} of {ws['websockets_asked']} open at the end, "
            f"server peak {ws['server_peak_fds']} descriptors of {ws['fd_limit']}"
        )
    if results.get("soak", {}).get("growth") is not None:
        lines.append(
            f"soak: RSS growth after warm-up {results['soak']['growth']:+.1%} over {results['soak']['seconds']} s"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10, help="per scenario (default 10)")
    parser.add_argument(
        "--instances", type=int, default=100_000, help="registry size for the size test"
    )
    parser.add_argument("--redemptions", type=int, default=2000, help="URLs opened in redeem+proxy")
    parser.add_argument(
        "--soak",
        type=int,
        default=0,
        metavar="SECONDS",
        help="also a memory soak at half rate (e.g. 600)",
    )
    parser.add_argument(
        "--no-postgresql",
        dest="postgresql",
        action="store_false",
        help="skip the presign runs on PostgreSQL (a scratch database on NBPRESIGN_TEST_PG)",
    )
    parser.add_argument(
        "--websocket-seconds",
        type=float,
        default=30,
        help="steady requests while 2,000 WebSockets are open (default 30)",
    )
    parser.add_argument(
        "--websocket-rate",
        type=float,
        default=100,
        help="requests per second meanwhile (default 100)",
    )
    parser.add_argument(
        "--only", choices=["proxy-websockets"], help="run this scenario alone, merged into --out"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    if args.only:
        results = run_only_websockets(args)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        print()
        print(table(results))
        return
    if args.postgresql:
        args.postgresql = asyncio.run(create_database())
    try:
        results = run(args)
    finally:
        if args.postgresql:
            asyncio.run(drop_database(args.postgresql))
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(table(results))


if __name__ == "__main__":
    main()
