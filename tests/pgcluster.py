"""A private PostgreSQL cluster that a test may stop, restart or freeze: never the shared
server on 5432. initdb into a temporary folder, listening on 127.0.0.1 at a free port,
run as the `postgres` user when the tests run as root (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

BIN = Path(os.environ.get("NBPRESIGN_PG_BIN", "/usr/lib/postgresql/15/bin"))
USER = "postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.data = root / "data"
        self.port = port

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def initdb(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "--no-sync")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.root} -c fsync=off"
        )
        log = str(self.root / "log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def processes(self) -> list[int]:
        """The postmaster, then every process it started (its backends included)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(
            ["pgrep", "-P", str(postmaster)], capture_output=True, text=True, check=False
        ).stdout.split()
        return [postmaster, *map(int, children)]

    def freeze(self) -> None:
        """SIGSTOP to every process of the cluster: connections stay open, nothing answers."""
        for pid in self.processes():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self.processes():
            os.kill(pid, signal.SIGCONT)

    def _run(self, program: str, *args: str) -> None:
        as_user = ["runuser", "-u", USER, "--"] if os.geteuid() == 0 else []
        subprocess.run(
            [*as_user, str(BIN / program), *args],
            cwd=self.root,
            check=True,
            capture_output=True,
            timeout=120,
        )


@contextlib.contextmanager
def private_cluster() -> Iterator[Cluster]:
    """A running cluster of its own; stopped (thawed first, if frozen) and deleted after."""
    root = Path(tempfile.mkdtemp(prefix="nbpresign-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, USER, USER)
    cluster = Cluster(root, free_port())
    try:
        cluster.initdb()
        cluster.start()
        yield cluster
    finally:
        if (cluster.data / "postmaster.pid").exists():
            cluster.thaw()
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
