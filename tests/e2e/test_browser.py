"""A real browser (Debian's chromium, driven by Playwright) opens the URL that
`nbpresign serve --demo` prints, and sees JupyterLab; it then runs a cell."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from conftest import NBPRESIGN, free_port
from notebooks import CHROMIUM, CHROMIUM_ARGS

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass(frozen=True)
class Demo:
    url: str  # the AuthorizedUrl it prints
    console_url: str
    password: str  # the admin's console password


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`nbpresign serve --demo`, exactly as the README says; yields what it prints."""
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
    url = console = password = None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if found := re.search(r"(http://demo\.localhost:\d+/\?authToken=\S+)", line):
            url = found.group(1)
        if found := re.search(r"the console is at (\S+)", line):
            console = found.group(1)
        if found := re.search(r"user name admin with password (\S+)", line):
            password = found.group(1)
            break
    assert url and console and password, "".join(seen)
    yield Demo(url, console, password)
    process.terminate()
    output, _ = process.communicate(timeout=30)
    assert "Traceback" not in output, output


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_the_demo_url_opens_jupyterlab_and_runs_a_cell(demo: Demo, browser: Browser) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(demo.url)
    # The token is gone from the address bar; the notebook's own origin serves JupyterLab.
    assert "authToken" not in page.url
    assert page.url.startswith(demo.url.split("?")[0])
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


def test_the_same_url_a_second_time_shows_the_sign_in_page(demo: Demo, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(demo.url)  # used up by the test before, or by this very visit
    page.goto(demo.url)
    expect(page.get_by_text("This link is no longer valid")).to_be_visible()
    assert "/_nbpresign/sign-in" in page.url
    page.screenshot(path=str(ARTIFACTS / "sign-in-replayed.png"))
    page.close()


def test_the_printed_console_password_signs_in_and_opens_the_demo(
    demo: Demo, browser: Browser
) -> None:
    """From the quick start to Open with nothing else to read: the README's command prints
    the console's address and the admin's password."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(demo.console_url)
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password", exact=True).fill(demo.password)
    page.get_by_role("button", name="Sign in").click()
    row = page.get_by_role("row").filter(has_text="demo")
    with context.expect_page() as opened:
        row.get_by_role("button", name="Open").click()
    tab = opened.value
    expect(tab.locator(".jp-DirListing-item", has_text="welcome.ipynb")).to_be_visible(
        timeout=60_000
    )
    assert tab.title().endswith("JupyterLab")  # the workspace may reopen welcome.ipynb
    context.close()
