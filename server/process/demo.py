"""`serve --demo`: a real local Jupyter server, registered as instance "demo".

Jupyter runs as a child process on a free loopback port, with a random token passed
through its environment (never on a command line, where `ps` would show it), and
serves DATA_DIR/demo-notebooks. It stops with the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import secrets
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from nbpresign.server.notebooks.instance import IN_SERVICE, NotebookInstance
from nbpresign.server.storage import DuplicateInstance, Storage

DEMO_NAME = "demo"
START_TIMEOUT_SECONDS = 90

WELCOME_NOTEBOOK = {
    "cells": [
        {
            "cell_type": "markdown",
            "metadata": {},
            "source": ["# Welcome\n", "This notebook was opened through an nbpresign URL."],
        },
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": ["1 + 1"],
        },
    ],
    "metadata": {
        "kernelspec": {
            "name": "python3",
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# JupyterLab settings for the demo: no asking the browser to fetch news from the internet.
DEMO_LAB_SETTINGS = {"@jupyterlab/apputils-extension/notification": {"fetchNews": "false"}}


def write_lab_settings(settings_dir: Path) -> None:
    for plugin, values in DEMO_LAB_SETTINGS.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def jupyter_command(port: int, root: Path) -> list[str]:
    """JupyterLab when installed (the `demo` extra), else Notebook 7, else the bare server."""
    app = next(
        (m for m in ("jupyterlab", "notebook") if importlib.util.find_spec(m) is not None),
        "jupyter_server",
    )
    command = [
        sys.executable,
        "-m",
        app,
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
    ]
    if app == "jupyterlab":
        # Its own workspace and settings, beside the notebooks: the user's ~/.jupyter stays
        # untouched, and every demo starts from the same clean layout.
        state = root.parent / "demo-jupyter-state"
        write_lab_settings(state / "settings")
        command += [
            f"--LabApp.workspaces_dir={state / 'workspaces'}",
            f"--LabApp.user_settings_dir={state / 'settings'}",
        ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command


async def _wait_until_up(url: str, token: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError("the demo Jupyter server exited; see demo-jupyter.log")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(
                    url + "api/status", headers={"Authorization": f"token {token}"}
                ) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.25)
    raise TimeoutError("the demo Jupyter server did not start in time")


@contextlib.asynccontextmanager
async def demo_jupyter(data_dir: Path) -> AsyncIterator[tuple[str, str]]:
    """Runs Jupyter; yields (its base URL, its token); stops it on exit."""
    root = data_dir / "demo-notebooks"
    root.mkdir(exist_ok=True)
    welcome = root / "welcome.ipynb"
    if not welcome.exists():
        welcome.write_text(json.dumps(WELCOME_NOTEBOOK, indent=1))
    token = secrets.token_urlsafe(32)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    with open(data_dir / "demo-jupyter.log", "ab") as log:  # noqa: ASYNC230 - once, at start
        process = await asyncio.create_subprocess_exec(
            *jupyter_command(port, root),
            env={**os.environ, "JUPYTER_TOKEN": token},
            stdout=log,
            stderr=log,
        )
    try:
        await _wait_until_up(url, token, process)
        yield url, token
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def register_demo(storage: Storage, url: str, token: str, now: float) -> None:
    """Registers "demo", or points the existing one at this run's Jupyter server."""
    instance = NotebookInstance(DEMO_NAME, url, token, IN_SERVICE, now, now)
    try:
        await storage.add_instance(instance)
    except DuplicateInstance:
        await storage.replace_upstream(DEMO_NAME, jupyter_url=url, jupyter_token=token, now=now)
