"""`serve --workers N`: N processes on the same ports, stopped together by SIGTERM."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from nbpresign.client import Client

from conftest import NBPRESIGN, free_port, identity_of, unique_name, wait_until_serving


def workers_of(pid: int) -> list[int]:
    """The worker processes (multiprocessing's spawn_main), not its resource tracker."""
    found = subprocess.run(
        ["ps", "-ww", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True
    )
    return [int(line.split()[0]) for line in found.stdout.splitlines() if "spawn_main" in line]


def test_workers_share_the_ports_and_stop_together(tmp_path: Path) -> None:
    grpc_port, http_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            *NBPRESIGN,
            "serve",
            "--workers",
            "2",
            "--data-dir",
            str(tmp_path),
            "--grpc-port",
            str(grpc_port),
            "--http-port",
            str(http_port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    target = f"127.0.0.1:{grpc_port}"
    assert process.stdout is not None
    try:
        for line in process.stdout:  # announced once every worker serves
            if "AWS JSON gateway on" in line:
                break
        workers = workers_of(process.pid)
        assert len(workers) == 2
        # Every call lands on one worker or another; all of them see the same storage.
        with Client(target, identity=identity_of(tmp_path)) as client:
            names = [unique_name("w") for _ in range(6)]
            for name in names:
                client.register_notebook_instance(name, "http://127.0.0.1:9/")
            for name in names:
                assert client.describe_notebook_instance(name).notebook_instance_name == name
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers)


def test_workers_refuse_port_zero(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            *NBPRESIGN,
            "serve",
            "--workers",
            "2",
            "--data-dir",
            str(tmp_path),
            "--grpc-port",
            "0",
            "--http-port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "--workers needs fixed ports" in result.stderr


def test_a_taken_grpc_port_is_an_error_without_workers(tmp_path: Path) -> None:
    grpc_port = free_port()
    first = subprocess.Popen(
        [
            *NBPRESIGN,
            "serve",
            "--data-dir",
            str(tmp_path / "a"),
            "--grpc-port",
            str(grpc_port),
            "--http-port",
            str(free_port()),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until_serving(f"127.0.0.1:{grpc_port}", first)
        second = subprocess.run(
            [
                *NBPRESIGN,
                "serve",
                "--data-dir",
                str(tmp_path / "b"),
                "--grpc-port",
                str(grpc_port),
                "--http-port",
                str(free_port()),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1
        assert "cannot start" in second.stderr
    finally:
        first.terminate()
        first.communicate(timeout=30)
