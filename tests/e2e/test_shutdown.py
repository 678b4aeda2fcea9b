"""SIGTERM under load, on one process and with --workers: the service stops accepting,
finishes what is in flight, closes proxied WebSockets with 1001 and exits 0 within its
grace period, and no client sees a connection reset or a request dropped unanswered."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from nbpresign.client import AsyncClient

from conftest import Server, launch_server, sign_http, unique_name, wait_until_serving
from notebooks import Jupyter, browser_session, jupyter_server

GRACE = 8
JSON_11 = "application/x-amz-json-1.1"
# A steady upload of SLOW_SECONDS in all: in flight when SIGTERM comes, and never paused
# long enough for the body timeout.
SLOW_SECONDS = 2.0
SLOW_PIECES = 20


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jupyter]:
    with jupyter_server(tmp_path_factory.mktemp("notebooks")) as running:
        yield running


def serve(data_dir: Path, *extra: str, grace: float = GRACE) -> tuple[Server, list[str]]:
    """`serve` with a grace period; returns once it has announced itself."""
    server = launch_server(data_dir, f"--shutdown-grace={grace}", *extra)
    lines = []
    assert server.process.stdout is not None
    for line in server.process.stdout:
        lines.append(line)
        if "AWS JSON gateway on" in line:
            break
    wait_until_serving(server.grpc_target, server.process)
    return server, lines


@dataclass
class Outcomes:
    """What the clients saw, by kind."""

    seen: Counter[str] = field(default_factory=Counter)

    def note(self, kind: str) -> None:
        self.seen[kind] += 1

    @property
    def failures(self) -> dict[str, int]:
        """Anything but an answer, or a refused *new* connection once the port is closed."""
        return {k: n for k, n in self.seen.items() if not k.startswith(("status ", "refused"))}


async def attempt(
    outcomes: Outcomes, request: contextlib.AbstractAsyncContextManager[aiohttp.ClientResponse]
) -> bool:
    """One request; False once the service no longer takes connections."""
    try:
        async with request as response:
            await response.read()
            outcomes.note(f"status {response.status}")
            return True
    except aiohttp.ClientConnectorError:  # connect() refused: the port is closed
        outcomes.note("refused")
        return False
    except (aiohttp.ClientError, OSError) as exc:  # reset, dropped, cut short
        outcomes.note(type(exc).__name__)
        return False


async def hammer_api(server: Server, outcomes: Outcomes) -> None:
    """Back-to-back calls on one kept-alive connection, until the service stops."""
    async with aiohttp.ClientSession() as session:
        while await attempt(
            outcomes,
            session.post(
                server.endpoint + "/",
                data=b"{}",
                headers={
                    "Content-Type": JSON_11,
                    "X-Amz-Target": "SageMaker.ListNotebookInstances",
                },
            ),
        ):
            pass


async def hammer_notebook(browser: aiohttp.ClientSession, base: str, outcomes: Outcomes) -> None:
    while await attempt(outcomes, browser.get(f"{base}/api/status")):
        pass


async def trickle(body: bytes) -> AsyncIterator[bytes]:
    step = len(body) // SLOW_PIECES + 1
    for start in range(0, len(body), step):
        yield body[start : start + step]
        await asyncio.sleep(SLOW_SECONDS / SLOW_PIECES)


async def slow_api_call(server: Server) -> int:
    """A signed call whose body takes SLOW_SECONDS to arrive; its status."""
    body = b"{" + b" " * 4000 + b"}"
    headers = sign_http(
        server.identity,
        server.endpoint + "/",
        body,
        {"Content-Type": JSON_11, "X-Amz-Target": "SageMaker.ListNotebookInstances"},
    )
    headers["Content-Length"] = str(len(body))
    async with (
        aiohttp.ClientSession() as session,
        session.post(server.endpoint + "/", data=trickle(body), headers=headers) as response,
    ):
        return response.status


async def slow_upload(browser: aiohttp.ClientSession, base: str, name: str) -> int:
    """A notebook file saved through the proxy, its body taking SLOW_SECONDS; the status."""
    body = json.dumps({"type": "file", "format": "text", "content": "x" * 100_000}).encode()
    async with browser.put(
        f"{base}/api/contents/{name}",
        data=trickle(body),
        headers={"Origin": base, "Content-Type": "application/json"},
    ) as response:
        return response.status


async def open_kernel_socket(
    browser: aiohttp.ClientSession, base: str
) -> aiohttp.ClientWebSocketResponse:
    async with browser.post(
        f"{base}/api/kernels", json={"name": "python3"}, headers={"Origin": base}
    ) as started:
        assert started.status == 201, await started.text()
        kernel_id: str = (await started.json())["id"]
    return await browser.ws_connect(
        f"{base}/api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}", origin=base
    )


async def close_code(ws: aiohttp.ClientWebSocketResponse) -> int | None:
    async with asyncio.timeout(GRACE + 10):
        while not ws.closed:
            await ws.receive()
    return ws.close_code


@pytest.mark.parametrize("workers", [1, 2], ids=["one-process", "two-workers"])
async def test_sigterm_under_load_drains_and_exits_0(
    tmp_path: Path, jupyter: Jupyter, workers: int
) -> None:
    server, lines = serve(tmp_path, f"--workers={workers}")
    name = unique_name()
    async with AsyncClient(server.grpc_target, identity=server.identity) as client:
        await client.register_notebook_instance(name, jupyter.url, jupyter.token)
        url = await client.create_presigned_notebook_instance_url(name)
    base = f"http://{name}.localhost:{server.http_port}"
    files = [f"{name}-{i}.txt" for i in range(4)]
    outcomes = Outcomes()
    async with browser_session() as browser:
        async with browser.get(url, allow_redirects=False) as redeemed:
            assert redeemed.status == 303
        ws = await open_kernel_socket(browser, base)
        ws_closed = asyncio.ensure_future(close_code(ws))
        load = [asyncio.ensure_future(hammer_api(server, outcomes)) for _ in range(16)]
        load += [asyncio.ensure_future(hammer_notebook(browser, base, outcomes)) for _ in range(4)]
        slow = [asyncio.ensure_future(slow_api_call(server)) for _ in range(4)]
        slow += [asyncio.ensure_future(slow_upload(browser, base, file)) for file in files]
        await asyncio.sleep(SLOW_SECONDS / 3)  # the slow ones are mid-body
        assert not any(task.done() for task in slow)
        server.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        statuses = await asyncio.gather(*slow)
        code = await ws_closed
        await asyncio.gather(*load)
        exit_code = await asyncio.to_thread(server.process.wait, GRACE + 10)
        took = time.monotonic() - signalled
        await ws.close()
    output = "".join(lines) + server.process.communicate()[0]

    assert exit_code == 0, output
    assert took < GRACE, f"took {took:.1f} s"  # nothing was left to cancel
    assert statuses == [200] * 4 + [201] * 4, statuses  # in flight at SIGTERM: finished
    assert all((jupyter.root / file).stat().st_size == 100_000 for file in files)
    assert code == 1001  # going away, not 1006 (cut) or 1008 (revoked)
    answered = sum(n for kind, n in outcomes.seen.items() if kind.startswith("status "))
    assert answered > 100, outcomes.seen
    assert not outcomes.failures, outcomes.seen  # no reset, no request dropped unanswered
    assert "Traceback" not in output


async def test_sigterm_cancels_what_outlasts_the_grace(tmp_path: Path) -> None:
    grace = 2
    server, lines = serve(tmp_path, grace=grace)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.http_port)
    try:
        # A call whose body stops arriving, its pause within the body timeout (30 s).
        writer.write(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n"
            b"X-Amz-Target: SageMaker.ListNotebookInstances\r\nContent-Length: 100\r\n\r\n{"
        )
        await writer.drain()
        await asyncio.sleep(0.5)
        server.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        exit_code = await asyncio.to_thread(server.process.wait, grace + 10)
        took = time.monotonic() - signalled
        assert await reader.read() == b""  # cut once the grace was up
    finally:
        writer.close()
    output = "".join(lines) + server.process.communicate()[0]
    assert exit_code == 0, output
    assert grace - 0.5 < took < grace + 5, f"took {took:.1f} s"
    assert "still busy after the grace period" in output
    assert "Traceback" not in output
