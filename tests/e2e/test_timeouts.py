"""Slow and broken clients against a real `serve`: idle connections, headers a byte at a
time, stalled bodies and requests aiohttp cannot parse are all cut off, each in its own
terms, while other clients are still answered; and none of it writes a traceback."""

from __future__ import annotations

import asyncio
import http.client
import json
import select
import socket
import time
from collections.abc import Iterator

import pytest

from nbpresign.client import Client

from conftest import Server, sign_http, start_server, unique_name
from notebooks import Jupyter, browser_session, jupyter_server

HEADER_TIMEOUT = 1
BODY_TIMEOUT = 1
IDLE_TIMEOUT = 3
# How long a connection may take to be closed, well above every timeout configured here.
BOUND = 10.0
JSON_11 = "application/x-amz-json-1.1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(
        tmp_path_factory.mktemp("data"),
        f"--header-timeout={HEADER_TIMEOUT}",
        f"--body-timeout={BODY_TIMEOUT}",
        f"--idle-timeout={IDLE_TIMEOUT}",
    )
    yield running
    log = running.stop()
    # Nothing a client sent here, however broken, may have written a traceback.
    assert "Traceback" not in log, log
    assert running.process.returncode == 0, log


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jupyter]:
    with jupyter_server(tmp_path_factory.mktemp("notebooks")) as running:
        yield running


def connect(server: Server, port: int | None = None) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port or server.http_port), timeout=BOUND)


def read_until_closed(sock: socket.socket, within: float = BOUND) -> bytes:
    """Everything the server sends until it closes; fails if it has not closed `within`."""
    deadline = time.monotonic() + within
    received = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"still open after {within} s; received {received!r}")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return received
        except TimeoutError:
            continue
        if not chunk:
            return received
        received += chunk


def answers(server: Server) -> bool:
    """A well-behaved client gets its answer (GET / on the API host is a 400 in AWS JSON)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=BOUND)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        return response.status == 400 and b"UnknownOperationException" in response.read()
    finally:
        conn.close()


def test_idle_connections_are_closed_while_others_are_answered(server: Server) -> None:
    idle = [connect(server) for _ in range(200)]
    try:
        assert answers(server)
        for sock in idle:
            # Never a request: its first one's headers were due within HEADER_TIMEOUT.
            assert read_until_closed(sock).startswith(b"HTTP/1.1 408 Request Timeout")
    finally:
        for sock in idle:
            sock.close()
    assert answers(server)


def test_a_kept_alive_connection_idles_until_the_idle_timeout(server: Server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=BOUND)
    try:
        conn.request("GET", "/")
        conn.getresponse().read()
        time.sleep(HEADER_TIMEOUT + 0.5)  # idle between requests: not a slow header
        conn.request("GET", "/")
        assert conn.getresponse().status == 400
        assert conn.sock is not None
        assert read_until_closed(conn.sock) == b""  # closed quietly once idle too long
    finally:
        conn.close()


def test_headers_a_byte_at_a_time_are_cut_off(server: Server) -> None:
    slow = [connect(server) for _ in range(20)]
    head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 1000
    started = time.monotonic()
    open_ = list(slow)
    try:
        for i in range(len(head)):
            if not open_ or time.monotonic() - started > BOUND:
                break
            if i == 5:
                assert answers(server)  # meanwhile
            for sock in list(open_):
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:  # the 408, or the close
                    open_.remove(sock)
                    continue
                try:
                    sock.send(head[i : i + 1])
                except OSError:
                    open_.remove(sock)
            time.sleep(0.05)
        assert not open_, f"{len(open_)} slow connections still open after {BOUND} s"
        for sock in slow:
            received = read_until_closed(sock)
            assert received in (b"",) or received.startswith(b"HTTP/1.1 408"), received
    finally:
        for sock in slow:
            sock.close()


def test_a_stalled_body_gets_a_408_in_aws_json(server: Server) -> None:
    sock = connect(server)
    try:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-amz-json-1.1\r\n"
            b"X-Amz-Target: SageMaker.ListNotebookInstances\r\n"
            b"Content-Length: 1000\r\n\r\n{"
        )
        response = read_until_closed(sock)
    finally:
        sock.close()
    assert response.startswith(b"HTTP/1.1 408 "), response
    body = json.loads(response.split(b"\r\n\r\n", 1)[1])
    assert body["__type"] == "RequestTimeoutException"
    assert answers(server)


def test_a_slow_but_steady_body_is_not_cut_off(server: Server) -> None:
    body = b"{" + b" " * 2000 + b"}"
    url = server.endpoint + "/"
    headers = sign_http(
        server.identity,
        url,
        body,
        {"Content-Type": JSON_11, "X-Amz-Target": "SageMaker.ListNotebookInstances"},
    )
    headers["Content-Length"] = str(len(body))
    pieces = 8

    def trickle() -> Iterator[bytes]:
        # In all, several times the allowed pause; never a whole pause without a byte.
        step = len(body) // pieces + 1
        for start in range(0, len(body), step):
            yield body[start : start + step]
            time.sleep(BODY_TIMEOUT / 2)

    conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=BOUND)
    try:
        conn.request("POST", "/", body=trickle(), headers=headers)
        response = conn.getresponse()
        assert response.status == 200, response.read()
    finally:
        conn.close()


def start_upload(server: Server, jupyter: Jupyter, file: str) -> socket.socket:
    """A signed-in browser's connection that has sent the head of an upload and one byte."""
    name = unique_name()
    with Client(server.grpc_target, identity=server.identity) as client:
        client.register_notebook_instance(name, jupyter.url, jupyter.token)
        url = client.create_presigned_notebook_instance_url(name)
    cookie = asyncio.run(redeem(url))
    host = f"{name}.localhost:{server.http_port}"
    sock = connect(server)
    sock.sendall(
        f"PUT /api/contents/{file} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\n"
        f"Origin: http://{host}\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n{".encode()
    )
    return sock


async def redeem(url: str) -> str:
    """Redeems `url` as a browser would; returns the session cookie as a Cookie header."""
    async with browser_session() as browser, browser.get(url, allow_redirects=False) as response:
        assert response.status == 303, await response.text()
        morsel = response.cookies["nbpresign-session"]
        return f"{morsel.key}={morsel.value}"


def test_a_stalled_upload_through_the_proxy_gets_a_408(server: Server, jupyter: Jupyter) -> None:
    sock = start_upload(server, jupyter, "stalled.txt")
    try:
        response = read_until_closed(sock)
    finally:
        sock.close()
    assert response.startswith(b"HTTP/1.1 408 "), response[:200]
    assert not (jupyter.root / "stalled.txt").exists()


def test_a_browser_gone_mid_upload_is_no_error(server: Server, jupyter: Jupyter) -> None:
    sock = start_upload(server, jupyter, "abandoned.txt")
    time.sleep(0.2)
    sock.close()  # the module's teardown checks that this wrote no traceback
    assert answers(server)
    assert not (jupyter.root / "abandoned.txt").exists()


MALFORMED = [
    pytest.param(b"GARBAGE\r\n\r\n", id="not-http"),
    pytest.param(b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n", id="nul-in-path"),
    pytest.param(b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", id="bad-version"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nNo Colon Here\r\n\r\n", id="bad-header"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n", id="bad-length"),
    pytest.param(
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        id="two-lengths",
    ),
    pytest.param(b"GET /" + b"a" * 200_000 + b" HTTP/1.1\r\n\r\n", id="line-too-long"),
    pytest.param(
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        id="bad-chunk",
    ),
    pytest.param(b"GET /?authToken=secret-in-a-bad-line HTTP/1.1 x\r\n\r\n", id="token-in-line"),
]


@pytest.mark.parametrize("raw", MALFORMED)
def test_a_malformed_request_is_a_plain_400(server: Server, raw: bytes) -> None:
    sock = connect(server)
    try:
        sock.sendall(raw)
        response = read_until_closed(sock)
    finally:
        sock.close()
    status_line = response.split(b"\r\n", 1)[0]
    assert status_line in (b"HTTP/1.0 400 Bad Request", b"HTTP/1.1 400 Bad Request"), response
    assert b"secret-in-a-bad-line" not in response
    assert answers(server)


def test_a_client_gone_mid_body_is_no_error(server: Server) -> None:
    sock = connect(server)
    sock.sendall(
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\n"
        b"X-Amz-Target: SageMaker.ListNotebookInstances\r\nContent-Length: 1000\r\n\r\n{"
    )
    time.sleep(0.2)
    sock.close()  # the module's teardown checks that this wrote no traceback
    assert answers(server)


def test_a_silent_grpc_connection_is_closed(server: Server) -> None:
    sock = connect(server, server.grpc_port)
    try:
        read_until_closed(sock)  # gRPC's SETTINGS, then the close: no HTTP/2 within the time
    finally:
        sock.close()
