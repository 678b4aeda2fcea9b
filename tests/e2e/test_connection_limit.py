"""The connection limit of a real `serve`: past it, a clean 503; the service stays reachable,
accept() never runs out of descriptors, and the log says so in a line, not a flood."""

from __future__ import annotations

import resource
import select
import socket
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from conftest import Server, start_server

BOUND = 20.0
SERVICE_UNAVAILABLE = b"HTTP/1.1 503 Service Unavailable"


def open_files(soft: int, hard: int) -> Callable[[], None]:
    def lower() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return lower


def first_answer(sock: socket.socket, within: float = BOUND) -> bytes:
    """The status line the server sent first, b"" if it closed without one."""
    sock.settimeout(within)
    try:
        return sock.recv(4096).split(b"\r\n", 1)[0]
    except ConnectionResetError:
        return b"reset"


def status_of_a_request(server: Server) -> bytes:
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=BOUND) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        return first_answer(sock)


def answers(server: Server) -> bool:
    return status_of_a_request(server) == b"HTTP/1.1 400 Bad Request"


def test_past_the_limit_a_connection_gets_a_503(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--max-connections=5")
    held = [socket.create_connection(("127.0.0.1", server.http_port)) for _ in range(5)]
    try:
        time.sleep(0.5)  # all five accepted
        extra = [socket.create_connection(("127.0.0.1", server.http_port)) for _ in range(3)]
        for sock in extra:
            assert first_answer(sock) == SERVICE_UNAVAILABLE
            sock.close()
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.5)
    assert answers(server)
    log = server.stop()
    assert "Traceback" not in log
    assert sum("refused" in line for line in log.splitlines()) == 1, log


def test_a_thousand_idle_connections_under_1024_descriptors(tmp_path: Path) -> None:
    # The numbers: 1,100 idle connections and a 1024-descriptor hard limit (its
    # soft limit lower still: the service raises it).
    server = start_server(
        tmp_path, "--header-timeout=3", preexec_fn=open_files(soft=512, hard=1024)
    )
    held = []
    try:
        for _ in range(1100):
            held.append(socket.create_connection(("127.0.0.1", server.http_port), timeout=BOUND))
        # Meanwhile another client is answered: a 503 at the limit, at once, is an answer.
        assert status_of_a_request(server) in (b"HTTP/1.1 400 Bad Request", SERVICE_UNAVAILABLE)
        outcomes = Counter(first_answer(sock) for sock in held)
    finally:
        for sock in held:
            sock.close()
    # Each got an answer: a 503 past the limit, a 408 once its headers were overdue.
    assert set(outcomes) <= {SERVICE_UNAVAILABLE, b"HTTP/1.1 408 Request Timeout"}
    assert outcomes[SERVICE_UNAVAILABLE] > 0, outcomes
    time.sleep(0.5)
    assert answers(server)  # reachable afterwards
    log = server.stop()
    assert server.process.returncode == 0, log
    assert "open-file limit 1024: up to 256 connections on each port" in log
    assert "Too many open files" not in log
    assert "Traceback" not in log
    assert len(log.splitlines()) < 15, log


def test_a_refused_client_reads_its_503_even_after_sending_a_request(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--max-connections=1")
    held = socket.create_connection(("127.0.0.1", server.http_port))
    try:
        time.sleep(0.5)
        for _ in range(20):
            with socket.create_connection(("127.0.0.1", server.http_port)) as sock:
                # A request, and a body, sent before the answer is read: still no reset.
                sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n")
                sock.sendall(b"x" * 5000)
                select.select([sock], [], [], BOUND)
                assert first_answer(sock) == SERVICE_UNAVAILABLE
    finally:
        held.close()
    server.stop()
