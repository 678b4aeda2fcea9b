"""A real browser (Debian's chromium, driven by Playwright) opens the URL that
`nbpresign serve --demo` prints, and sees JupyterLab; it then runs a cell."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from conftest import NBPRESIGN, free_port
from notebooks import CHROMIUM, CHROMIUM_ARGS

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`nbpresign serve --demo`, exactly as the README says; yields the URL it prints."""
    process = subprocess.Popen(
        [
            *NBPRESIGN,
            "serve",
            "--demo",
            "--data-dir",
            str(tmp_path_factory.mktemp("demo")),
            "--grpc-port",
            str(free_port()),
            "--http-port",
            str(free_port()),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    url = None
    seen = []
    for line in process.stdout:
        seen.append(line)
        found = re.search(r"(http://demo\.localhost:\d+/\?authToken=\S+)", line)
        if found:
            url = found.group(1)
            break
    assert url, "".join(seen)
    yield url
    process.terminate()
    output, _ = process.communicate(timeout=30)
    assert "Traceback" not in output, output


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_the_demo_url_opens_jupyterlab_and_runs_a_cell(demo: str, browser: Browser) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(demo)
    # The token is gone from the address bar; the notebook's own origin serves JupyterLab.
    assert "authToken" not in page.url
    assert page.url.startswith(demo.split("?")[0])
    listing = page.locator(".jp-DirListing-item", has_text="welcome.ipynb")
    expect(listing).to_be_visible(timeout=60_000)
    assert page.title() == "JupyterLab"
    page.screenshot(path=str(ARTIFACTS / "jupyterlab-home.png"))

    listing.dblclick()
    cell = page.locator(".jp-Notebook .jp-CodeCell").first
    expect(cell).to_be_visible(timeout=60_000)
    # Run only once the kernel is connected, through the proxied WebSocket.
    expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible(timeout=60_000)
    cell.click()
    page.keyboard.press("Shift+Enter")
    expect(cell.locator(".jp-OutputArea-output")).to_have_text("2", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "jupyterlab-cell-ran.png"))
    page.close()


def test_the_same_url_a_second_time_shows_the_sign_in_page(demo: str, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(demo)  # used up by the test before, or by this very visit
    page.goto(demo)
    expect(page.get_by_text("This link is no longer valid")).to_be_visible()
    assert "/_nbpresign/sign-in" in page.url
    page.screenshot(path=str(ARTIFACTS / "sign-in-replayed.png"))
    page.close()
