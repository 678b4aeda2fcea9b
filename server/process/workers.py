"""`serve --workers N`: N processes, each with its own event loop, sharing the gRPC and
HTTP ports through SO_REUSEPORT, so the kernel spreads connections across them.

The parent prepares storage once (migrations, master key, signing key, admin), starts
the workers, announces the service once every worker is serving, and on SIGINT/SIGTERM
passes SIGTERM on, once, and waits for them all: each drains within the grace period
(service.drain), and the parent exits 0 if every worker did.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from nbpresign.server.api.clock import system_clock
from nbpresign.server.process import assembly, listeners, service
from nbpresign.server.process.settings import Settings
from nbpresign.server.storage.opening import open_storage

log = logging.getLogger(__name__)

# A worker has the grace period to drain, and this long beyond it to exit before it is killed.
STOP_MARGIN_SECONDS = 5.0


def _stop_while_starting(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _worker(settings: Settings, ready: Any) -> None:
    # Until service.run installs its own handlers, SIGTERM still means a clean exit.
    signal.signal(signal.SIGTERM, _stop_while_starting)
    asyncio.run(service.run(settings, on_ready=lambda endpoints: ready.put(os.getpid())))


async def _prepare(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    storage = await open_storage(settings.db, settings.data_dir)
    try:
        await assembly.prepare(settings, storage, system_clock)
    finally:
        await storage.close()


def run_workers(settings: Settings, *, on_ready: Callable[[service.Endpoints], None]) -> int:
    if settings.grpc_port == 0 or settings.http_port == 0:
        raise ValueError("--workers needs fixed ports: every worker binds the same ones")
    if settings.demo:
        raise ValueError("--demo runs one Jupyter server: use it without --workers")
    asyncio.run(_prepare(settings))
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    shared = replace(settings, reuse_port=True)
    workers = [
        context.Process(target=_worker, args=(shared, ready), daemon=False)
        for _ in range(settings.workers)
    ]
    stopping = False
    told: set[int] = set()

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for worker in workers:
            # Once each: a second SIGTERM would kill a worker that is still shutting down.
            if worker.is_alive() and worker.pid is not None and worker.pid not in told:
                told.add(worker.pid)
                worker.terminate()  # SIGTERM: each worker shuts down cleanly

    def running() -> bool:
        return not stopping and all(w.is_alive() for w in workers)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    for worker in workers:
        worker.start()
    started = 0
    while started < len(workers) and running():
        with contextlib.suppress(queue.Empty):
            ready.get(timeout=0.2)
            started += 1
    if started == len(workers):
        host = listeners.bracket(listeners.loopback_if_any(settings.host))
        on_ready(
            service.Endpoints(
                f"{host}:{settings.grpc_port}", f"http://{host}:{settings.http_port}/"
            )
        )
    while running():
        time.sleep(0.2)
    stop(signal.SIGTERM, None)  # one worker died, or we were told to stop: stop them all
    deadline = time.monotonic() + settings.shutdown_grace + STOP_MARGIN_SECONDS
    for worker in workers:
        worker.join(max(0.1, deadline - time.monotonic()))
        if worker.is_alive():
            worker.kill()
            worker.join()
    failed = [w for w in workers if w.exitcode != 0]
    for worker in failed:
        log.error("worker %s exited with %s", worker.pid, worker.exitcode)
    return 1 if failed else 0
