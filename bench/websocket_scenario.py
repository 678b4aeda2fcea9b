"""The proxy-websockets scenario: 2,000 proxied WebSockets open across 20 notebooks (4
people on each, 25 WebSockets each: ten JupyterLab tabs' worth), and while they stay open,
small requests through the proxy at a steady rate (websocket_load.py, its own process).

The 20 notebooks are one jupyter_server registered as 20 instances: 20 real servers do not
fit on 2 shared cores beside the load. The proxy bounds and counts them as 20 notebooks all
the same (limits are per instance and per session); Jupyter holds all 2,000 sockets.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from loads import Stats, from_latencies

from nbpresign.client import Client
from nbpresign.client.credentials import SigningIdentity

HERE = Path(__file__).resolve().parent
NOTEBOOKS, PEOPLE_EACH, SOCKETS_EACH = 20, 4, 25


def process_sample(pid: int) -> tuple[int, int]:
    """RSS in KiB and open file descriptors of process `pid`."""
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def authorized_urls(
    grpc_port: int, identity: SigningIdentity, jupyter: tuple[str, str]
) -> list[str]:
    url, token = jupyter
    with Client(f"127.0.0.1:{grpc_port}", identity=identity) as client:
        names = [f"ws-{i}" for i in range(NOTEBOOKS)]
        for name in names:
            client.register_notebook_instance(name, url, token)
        return [
            client.create_presigned_notebook_instance_url(name, 3600)
            for name in names
            for _ in range(PEOPLE_EACH)
        ]


def run_scenario(
    grpc_port: int,
    identity: SigningIdentity,
    server_pid: int,
    jupyter: tuple[str, str],
    *,
    seconds: float,
    rate: float,
) -> tuple[Stats, dict[str, Any]]:
    urls = authorized_urls(grpc_port, identity, jupyter)
    peak_rss, peak_fds = process_sample(server_pid)
    with (
        tempfile.NamedTemporaryFile("w", suffix=".txt") as listing,
        tempfile.TemporaryFile("w+") as output,  # a pipe would fill while the load runs
    ):
        listing.write("\n".join(urls))
        listing.flush()
        load = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "websocket_load.py"),
                listing.name,
                str(SOCKETS_EACH),
                str(seconds),
                str(rate),
            ],
            stdout=output,
        )
        while load.poll() is None:
            rss, fds = process_sample(server_pid)
            peak_rss, peak_fds = max(peak_rss, rss), max(peak_fds, fds)
            time.sleep(0.5)
        output.seek(0)
        out = output.read()
    if load.returncode:
        raise RuntimeError(f"websocket_load.py failed ({load.returncode})")
    measured = json.loads(out)
    stats = from_latencies(measured.pop("latencies"), measured["seconds"], measured["failures"])
    detail = {
        **measured,
        "notebooks": NOTEBOOKS,
        "rate": rate,
        "server_peak_rss_kib": peak_rss,
        "server_peak_fds": peak_fds,
        "fd_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],  # the server's: inherited
    }
    return stats, detail


def summary(stats: Stats, detail: dict[str, Any]) -> str:
    return (
        f"{detail['websockets_asked'] - detail['websockets_failed']} of "
        f"{detail['websockets_asked']} WebSockets opened across {detail['notebooks']} notebooks "
        f"in {detail['opening_seconds']:.1f} s, {detail['websockets_open_at_end']} still open "
        f"at the end; {stats.requests} requests at {detail['rate']:.0f}/s: "
        f"p50 {stats.p50_ms:.1f} ms, p99 {stats.p99_ms:.1f} ms, {stats.failures} failures; "
        f"server peak {detail['server_peak_fds']} descriptors (limit {detail['fd_limit']}), "
        f"RSS {detail['server_peak_rss_kib'] / 1024:.0f} MiB"
    )
