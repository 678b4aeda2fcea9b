"""Load generators in their own processes: h2load (gRPC, HTTP/1.1 with --h1) and wrk."""

from __future__ import annotations

import re
import statistics
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Stats:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    failures: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def from_latencies(latencies_s: list[float], seconds: float, failures: int) -> Stats:
    return Stats(
        rps=len(latencies_s) / seconds,
        p50_ms=percentile(latencies_s, 0.50) * 1000,
        p99_ms=percentile(latencies_s, 0.99) * 1000,
        requests=len(latencies_s),
        failures=failures,
    )


def h2load(
    url: str,
    *,
    body: bytes,
    headers: list[tuple[str, str]],
    seconds: int,
    clients: int,
    streams: int,
    rps_per_client: float | None = None,
    h1: bool = False,
) -> Stats:
    with tempfile.TemporaryDirectory() as scratch:
        body_file = Path(scratch) / "body"
        body_file.write_bytes(body)
        log = Path(scratch) / "log"
        command = [
            "h2load",
            url,
            "-d",
            str(body_file),
            "-D",
            str(seconds),
            "-c",
            str(clients),
            "-m",
            str(streams),
            f"--log-file={log}",
        ]
        command += [arg for name, value in headers for arg in ("-H", f"{name}: {value}")]
        if rps_per_client:
            command.append(f"--rps={rps_per_client:.2f}")
        if h1:
            command.append("--h1")
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        rows = [line.split("\t") for line in log.read_text().splitlines() if line.strip()]
    durations = [int(row[2]) / 1e6 for row in rows]
    failures = sum(1 for row in rows if not row[1].startswith("2"))
    rate = re.search(r"finished in ([\d.]+)s, ([\d.]+) req/s", result.stdout)
    assert rate, result.stdout
    return Stats(
        rps=float(rate.group(2)),
        p50_ms=percentile(durations, 0.5) * 1000,
        p99_ms=percentile(durations, 0.99) * 1000,
        requests=len(rows),
        failures=failures,
    )


LATENCY_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, *, script: str, seconds: int, connections: int, threads: int = 1) -> Stats:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script)
        lua.flush()
        command = [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--latency",
            "-s",
            lua.name,
            url,
        ]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    quantiles = {
        q: float(v) * LATENCY_UNITS[u]
        for q, v, u in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)$", out, re.M)
    }
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failures = (int(non2xx.group(1)) if non2xx else 0) + (
        sum(int(g) for g in errors.groups()) if errors else 0
    )
    return Stats(
        rps=rps, p50_ms=quantiles["50"], p99_ms=quantiles["99"], requests=total, failures=failures
    )


def lua_post(body: bytes, headers: dict[str, str]) -> str:
    def quote(text: str) -> str:
        return "[==[" + text + "]==]"

    lines = ['wrk.method = "POST"', f"wrk.body = {quote(body.decode())}"]
    lines += [
        f"wrk.headers[ {quote(k)} ] = {quote(v)}" for k, v in headers.items() if k.lower() != "host"
    ]
    return "\n".join(lines) + "\n"


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")
