"""The console, in Debian's chromium (Playwright), against an in-process service and a real
Jupyter server: sign in, the list, Open in a new tab, refusals, sign-out, and its own
protections (cookie, CSRF, lockout)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, ViewportSize, async_playwright, expect

from nbpresign.client import AsyncClient, Client, NbpresignError

from databases import BACKENDS, database_for
from notebooks import Jupyter, LiveService, browser_session, jupyter_server, live_service

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "a long enough password"
PRESIGN = "sagemaker:CreatePresignedNotebookInstanceUrl"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 375, "height": 740}
COOKIE = "nbpresign-console"


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ALLOW_SAGEMAKER = {"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}


def deny_outside(action: str, cidr: str) -> dict[str, Any]:
    return {
        "Effect": "Deny",
        "Action": action,
        "Resource": "*",
        "Condition": {"NotIpAddress": {"aws:SourceIp": [cidr]}},
    }


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jupyter]:
    with jupyter_server(tmp_path_factory.mktemp("notebooks")) as running:
        yield running


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveService]:
    async with live_service(tmp_path / "data") as running:
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


def console(live: LiveService) -> str:
    return f"http://127.0.0.1:{live.http_port}/"


async def make_user(
    live: LiveService, document: str, *, password: str = PASSWORD, reset: bool = False
) -> str:
    name = f"u-{uuid.uuid4().hex[:8]}"

    def create() -> None:
        with Client(live.grpc_target, identity=live.identity) as client:
            client.create_user(name)
            client.put_user_policy(name, "access", document)
            client.create_login_profile(name, password, password_reset_required=reset)

    await asyncio.to_thread(create)
    return name


async def admin(live: LiveService, action: str, *args: Any, **kwargs: Any) -> Any:
    def run() -> Any:
        with Client(live.grpc_target, identity=live.identity) as client:
            return getattr(client, action)(*args, **kwargs)

    return await asyncio.to_thread(run)


@pytest.fixture
async def notebook(live: LiveService, jupyter: Jupyter) -> str:
    name = f"nb-{uuid.uuid4().hex[:8]}"
    async with AsyncClient(live.grpc_target, identity=live.identity) as client:
        await client.register_notebook_instance(name, jupyter.url, jupyter.token)
    return name


async def sign_in(page: Page, user: str, password: str = PASSWORD) -> None:
    await page.get_by_label("User name").fill(user)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Sign in").click()


def row(page: Page, name: str) -> Any:
    return page.get_by_role("row").filter(has_text=name)


@pytest.fixture
async def demo_live(tmp_path: Path) -> AsyncIterator[LiveService]:
    """With --demo: JupyterLab registered as "demo", and the admin's console password."""
    async with live_service(tmp_path / "data", demo=True) as running:
        yield running


async def test_sign_in_see_the_list_and_open_jupyterlab_in_a_new_tab(
    demo_live: LiveService, browser: Browser
) -> None:
    live, notebook = demo_live, "demo"
    ARTIFACTS.mkdir(exist_ok=True)
    user = await make_user(live, policy(ALLOW_SAGEMAKER))
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    await page.goto(console(live))
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "console-sign-in-desktop.png"))
    await sign_in(page, user)
    listed = row(page, notebook)
    await expect(listed).to_contain_text("InService")
    await expect(listed.get_by_role("button", name="Open")).to_be_visible()
    await expect(listed.get_by_role("button", name="Stop")).to_be_visible()
    await expect(page.get_by_label("Session length for Open")).to_have_value("43200")
    await page.screenshot(path=str(ARTIFACTS / "console-list-desktop.png"))

    async with context.expect_page() as opened:
        await listed.get_by_role("button", name="Open").click()
    tab = await opened.value
    await expect(tab.locator(".jp-Launcher")).to_be_visible(timeout=60_000)
    assert tab.url.startswith(f"http://{notebook}.localhost:{live.http_port}/")
    assert "authToken" not in tab.url
    await tab.screenshot(path=str(ARTIFACTS / "console-opened-jupyterlab.png"))
    # The console's cookie is the API host's only: never sent to a notebook host.
    notebook_cookies = await context.cookies(tab.url)
    assert COOKIE not in {c["name"] for c in notebook_cookies}
    assert COOKIE in {c["name"] for c in await context.cookies(console(live))}
    await context.close()


async def test_the_list_at_phone_width(live: LiveService, notebook: str, browser: Browser) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    user = await make_user(live, policy(ALLOW_SAGEMAKER))
    page = await browser.new_page(viewport=PHONE)
    await page.goto(console(live))
    await page.screenshot(path=str(ARTIFACTS / "console-sign-in-phone.png"))
    await sign_in(page, user)
    await expect(row(page, notebook).get_by_role("button", name="Open")).to_be_visible()
    # Nothing wider than the screen: no sideways scrolling.
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    await page.screenshot(path=str(ARTIFACTS / "console-list-phone.png"))
    await page.close()


async def test_keyboard_only_sign_in(live: LiveService, notebook: str, browser: Browser) -> None:
    user = await make_user(live, policy(ALLOW_SAGEMAKER))
    page = await browser.new_page()
    await page.goto(console(live))
    await expect(page.get_by_label("User name")).to_be_focused()
    await page.keyboard.type(user)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(row(page, notebook).get_by_role("button", name="Open")).to_be_visible()
    await page.close()


async def test_stop_then_open_is_refused_in_the_console(
    live: LiveService, notebook: str, browser: Browser
) -> None:
    user = await make_user(live, policy(ALLOW_SAGEMAKER))
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    await page.goto(console(live))
    await sign_in(page, user)
    await row(page, notebook).get_by_role("button", name="Stop").click()
    await expect(row(page, notebook)).to_contain_text("Stopped")
    await expect(row(page, notebook).get_by_role("button", name="Start")).to_be_visible()
    await row(page, notebook).get_by_role("button", name="Open").click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text(
        "is in status Stopped; a presigned URL needs status InService."
    )
    await page.wait_for_timeout(500)
    assert len(context.pages) == 1  # no tab opened
    await page.screenshot(path=str(ARTIFACTS / "console-open-refused-stopped.png"))
    await row(page, notebook).get_by_role("button", name="Start").click()
    await expect(row(page, notebook)).to_contain_text("InService")
    await context.close()


async def test_an_ip_range_policy_refuses_open_outside_it_and_no_tab_opens(
    live: LiveService, notebook: str, browser: Browser
) -> None:
    # The browser comes from 127.0.0.1, outside 10.0.0.0/8.
    user = await make_user(live, policy(ALLOW_SAGEMAKER, deny_outside(PRESIGN, "10.0.0.0/8")))
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    await page.goto(console(live))
    await sign_in(page, user)
    await row(page, notebook).get_by_role("button", name="Open").click()
    await expect(page.get_by_role("alert")).to_have_text(
        f"User: arn:aws:iam::000000000000:user/{user} is not authorized to perform: "
        f"{PRESIGN} on resource: arn:aws:sagemaker:us-east-1:000000000000:notebook-instance/"
        f"{notebook} with an explicit deny"
    )
    await page.wait_for_timeout(500)
    assert len(context.pages) == 1
    await page.screenshot(path=str(ARTIFACTS / "console-open-refused-ip-range.png"))
    await context.close()


async def test_an_expired_link_lands_on_sign_in_then_back_in_the_console(
    live: LiveService, notebook: str, browser: Browser
) -> None:
    user = await make_user(live, policy(ALLOW_SAGEMAKER))
    async with AsyncClient(live.grpc_target, identity=live.identity) as client:
        url = await client.create_presigned_notebook_instance_url(notebook)
    live.clock.advance(301)
    page = await browser.new_page(viewport=DESKTOP)
    await page.goto(url)
    assert page.url.startswith(f"{console(live)}_nbpresign/sign-in?reason=link")
    await expect(page.get_by_text("This link is no longer valid")).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "console-sign-in-expired-link.png"))
    await sign_in(page, user)
    await expect(row(page, notebook).get_by_role("button", name="Open")).to_be_visible()
    assert page.url == console(live)
    await expect(page.get_by_text("This link is no longer valid")).to_have_count(0)
    await page.close()


async def test_a_wrong_password_is_refused_without_saying_who_exists(
    live: LiveService, browser: Browser
) -> None:
    user = await make_user(live, policy(ALLOW_SAGEMAKER))
    page = await browser.new_page()
    await page.goto(console(live))
    await sign_in(page, user, "not the password at all")
    await expect(page.get_by_role("alert")).to_have_text("Your user name or password is incorrect.")
    await sign_in(page, "nobody-by-this-name", PASSWORD)
    await expect(page.get_by_role("alert")).to_have_text("Your user name or password is incorrect.")
    await expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    await page.screenshot(path=str(ARTIFACTS / "console-wrong-password.png"))
    await page.close()


async def test_repeated_failures_slow_down_then_lock_sign_in(
    live: LiveService, browser: Browser
) -> None:
    user = await make_user(live, policy(ALLOW_SAGEMAKER))
    page = await browser.new_page()
    await page.goto(console(live))
    alert = page.get_by_role("alert")
    for _ in range(3):
        await sign_in(page, user, "wrong password, again")
        await expect(alert).to_have_text("Your user name or password is incorrect.")
    # The fourth attempt comes too soon: not even the right password is heard.
    await sign_in(page, user)
    await expect(alert).to_have_text("Too many failed attempts. Wait 2 seconds, then try again.")
    for _ in range(7):
        live.clock.advance(61)
        await sign_in(page, user, "wrong password, again")
        await expect(alert).to_have_text("Your user name or password is incorrect.")
    live.clock.advance(61)
    await sign_in(page, user)
    await expect(alert).to_contain_text("Sign-in is locked after too many failed attempts.")
    await page.screenshot(path=str(ARTIFACTS / "console-locked.png"))
    live.clock.advance(901)
    await sign_in(page, user)
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    await page.close()


async def test_first_sign_in_must_set_a_new_password(
    live: LiveService, notebook: str, browser: Browser
) -> None:
    user = await make_user(live, policy(ALLOW_SAGEMAKER), reset=True)
    page = await browser.new_page()
    await page.goto(console(live))
    await sign_in(page, user)
    await expect(page.get_by_label("New password", exact=True)).to_be_focused()
    await page.get_by_label("New password", exact=True).fill("short")
    await page.get_by_label("Confirm new password").fill("short")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("at least 12 characters")
    await page.get_by_label("New password", exact=True).fill("a brand new long password")
    await page.get_by_label("Confirm new password").fill("a brand new long password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(row(page, notebook).get_by_role("button", name="Open")).to_be_visible()
    profile = await admin(live, "get_login_profile", user)
    assert not profile.password_reset_required
    await page.close()
    # The old password no longer works; the new one does.
    async with browser_session() as http:
        assert (await api_sign_in(http, live, user, PASSWORD))[0] == 401
        assert (await api_sign_in(http, live, user, "a brand new long password"))[0] == 200


async def test_sign_out_ends_the_console_session(
    live: LiveService, notebook: str, browser: Browser
) -> None:
    user = await make_user(live, policy(ALLOW_SAGEMAKER))
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(console(live))
    await sign_in(page, user)
    await expect(row(page, notebook)).to_be_visible()
    cookie = next(c for c in await context.cookies(console(live)) if c["name"] == COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert await instances_status(live, cookie["value"]) == 200
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await page.reload()
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await context.close()
    # The old cookie opens nothing any more.
    assert await instances_status(live, cookie["value"]) == 401


async def instances_status(live: LiveService, cookie: str) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{console(live)}_nbpresign/console/instances", headers={"Cookie": f"{COOKIE}={cookie}"}
        ) as response,
    ):
        return response.status


async def test_a_sign_in_policy_can_refuse_by_address(live: LiveService, browser: Browser) -> None:
    user = await make_user(
        live, policy(ALLOW_SAGEMAKER, deny_outside("signin:ConsoleLogin", "10.0.0.0/8"))
    )
    page = await browser.new_page()
    await page.goto(console(live))
    await sign_in(page, user)
    await expect(page.get_by_role("alert")).to_contain_text(
        "is not authorized to perform: signin:ConsoleLogin"
    )
    await expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    await page.close()


# --- the console's HTTP side, with a plain client -----------------------------------------


async def api_sign_in(
    http: aiohttp.ClientSession, live: LiveService, user: str, password: str, **extra: str
) -> tuple[int, dict[str, Any]]:
    async with http.post(
        f"{console(live)}_nbpresign/console/sign-in",
        json={"userName": user, "password": password, **extra},
        headers={"Origin": console(live).rstrip("/")},
    ) as response:
        return response.status, await response.json()


async def post(
    http: aiohttp.ClientSession, live: LiveService, path: str, body: Any, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    async with http.post(
        f"{console(live)}_nbpresign/console/{path}", json=body, headers=headers
    ) as r:
        return r.status, await r.json()


@pytest.fixture(params=BACKENDS)
async def live_on(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LiveService]:
    async with database_for(request.param) as db, live_service(tmp_path / "data", db=db) as running:
        yield running


async def test_csrf_and_origin_are_checked_on_every_state_change(
    live_on: LiveService, jupyter: Jupyter
) -> None:
    live = live_on
    name = f"nb-{uuid.uuid4().hex[:8]}"
    async with AsyncClient(live.grpc_target, identity=live.identity) as client:
        await client.register_notebook_instance(name, jupyter.url, jupyter.token)
    user = await make_user(live, policy(ALLOW_SAGEMAKER))
    origin = console(live).rstrip("/")
    # unsafe: keeps cookies of an IP-address host (127.0.0.1), as browsers do.
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
        browser_session() as notebook_browser,
    ):
        status, _ = await post(
            http,
            live,
            "sign-in",
            {"userName": user, "password": PASSWORD},
            {"Origin": "http://evil.example"},
        )
        assert status == 403
        status, body = await api_sign_in(http, live, user, PASSWORD)
        assert status == 200
        token = body["csrfToken"]
        opening = {"name": name}
        assert (await post(http, live, "open", opening, {"Origin": origin}))[0] == 403
        wrong = {"Origin": origin, "X-CSRF-Token": "x" + token[1:]}
        assert (await post(http, live, "open", opening, wrong))[0] == 403
        elsewhere = {"Origin": "http://evil.example", "X-CSRF-Token": token}
        assert (await post(http, live, "stop", opening, elsewhere))[0] == 403
        right = {"Origin": origin, "X-CSRF-Token": token}
        status, body = await post(http, live, "open", opening, right)
        assert status == 200
        assert body["authorizedUrl"].startswith(f"http://{name}.localhost:")
        # Deleting the login profile ends the console session and what it minted.
        await admin(live, "delete_login_profile", user)
        assert (await post(http, live, "open", opening, right))[0] == 401
        async with notebook_browser.get(body["authorizedUrl"], allow_redirects=False) as redeemed:
            assert redeemed.status == 302
            assert "reason=" in redeemed.headers["Location"]


async def test_pages_carry_a_strict_policy_and_are_never_framed(live: LiveService) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("", "_nbpresign/sign-in?reason=link", "_nbpresign/console/console.js"):
            async with http.get(console(live) + path) as response:
                assert response.headers["Content-Security-Policy"] == (
                    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
                    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
                    "base-uri 'none'"
                )
                assert response.headers["X-Frame-Options"] == "DENY"
                assert response.headers["X-Content-Type-Options"] == "nosniff"
                text = await response.text()
                assert "http://" not in text and "https://" not in text  # no third party
                if path != "_nbpresign/console/console.js":
                    assert "<script>" not in text  # no inline script
                    assert response.headers["Cache-Control"] == "no-store"


async def test_a_notebook_hosts_sign_in_path_goes_to_the_console(
    live: LiveService, notebook: str
) -> None:
    async with (
        browser_session() as http,
        http.get(
            f"http://{notebook}.localhost:{live.http_port}/_nbpresign/sign-in?reason=session",
            allow_redirects=False,
        ) as response,
    ):
        assert response.status == 302
        assert response.headers["Location"] == (f"{console(live)}_nbpresign/sign-in?reason=session")


async def test_a_password_the_policy_refuses_is_refused_without_echoing_it(
    live: LiveService,
) -> None:
    await admin(live, "create_user", "carol")
    with pytest.raises(NbpresignError) as refused:
        await admin(live, "create_login_profile", "carol", "s3cret-pw")
    assert refused.value.code == "PasswordPolicyViolation"
    assert "at least 12 characters" in refused.value.message
    assert "s3cret-pw" not in str(refused.value)
    with pytest.raises(NbpresignError) as missing:
        await admin(live, "get_login_profile", "carol")
    assert missing.value.code == "NoSuchEntity"


async def test_failures_from_one_address_lock_every_name_tried_from_it(live: LiveService) -> None:
    user = await make_user(live, policy(ALLOW_SAGEMAKER))
    async with aiohttp.ClientSession() as http:
        for attempt in range(10):
            live.clock.advance(61)
            status, _ = await api_sign_in(http, live, f"guess-{attempt}", PASSWORD)
            assert status == 401
        live.clock.advance(61)
        # A name never tried, with its right password: the address is locked.
        status, body = await api_sign_in(http, live, user, PASSWORD)
        assert status == 429
        assert body["message"].startswith("Sign-in is locked after too many failed attempts.")


async def test_a_console_session_ends_when_idle_and_when_too_old(live: LiveService) -> None:
    user = await make_user(live, policy(ALLOW_SAGEMAKER))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        assert (await api_sign_in(http, live, user, PASSWORD))[0] == 200
        cookie = next(c.value for c in http.cookie_jar if c.key == COOKIE)
    assert await instances_status(live, cookie) == 200
    live.clock.advance(3601)  # an hour unused
    assert await instances_status(live, cookie) == 401
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        assert (await api_sign_in(http, live, user, PASSWORD))[0] == 200
        cookie = next(c.value for c in http.cookie_jar if c.key == COOKIE)
    for _ in range(12):  # used every 59 minutes, but 12 hours in all
        live.clock.advance(59 * 60)
        assert await instances_status(live, cookie) == 200
    live.clock.advance(13 * 60)
    assert await instances_status(live, cookie) == 401
