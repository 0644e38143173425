"""Browser tests: headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

A live server runs the test app in a thread. htmx is served to the browser from the
htmx.org npm package in place of the CDN. Each test runs on a desktop and on a 360x740
phone viewport, fails on any console error, and leaves screenshots in test-artifacts/.
Locally the tests skip when Chromium is missing; in CI (CI=1) they fail instead.
"""

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.htmx_package import htmx_min_js
from webapp.config import HTMX_URL

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 860}},
    "phone": {
        "viewport": {"width": 360, "height": 740},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}


def pytest_collection_modifyitems(items):
    for item in items:
        if "/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def _playwright_browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is missing at {CHROMIUM} (CI must run the browser tests)")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def _htmx_body() -> bytes:
    return htmx_min_js()


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app served on a free local port for the duration of one test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request) -> str:
    return request.param


class Screens:
    """Saves numbered screenshots named after the test and viewport."""

    def __init__(self, page, name: str):
        self.page = page
        self.name = name
        self.count = 0
        for old in ARTIFACTS.glob(f"{name}-*.png"):  # shots of an earlier run would mislead
            old.unlink(missing_ok=True)

    def shot(self, label: str) -> Path:
        self.count += 1
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{self.count:02d}-{label}.png"
        self.page.screenshot(path=path, full_page=True)
        # After a full-page shot Chromium's scroll position is stale and the next click can
        # miss its button (seen on the desktop viewport): start again from the top.
        self.page.evaluate("window.scrollTo(0, 0)")
        return path


@pytest.fixture
def page(request, _playwright_browser, _htmx_body, live_server, viewport):
    """A fresh browser page on the live server; console errors fail the test."""
    context = _playwright_browser.new_context(
        base_url=live_server, locale="vi-VN", **VIEWPORTS[viewport]
    )
    context.route(
        HTMX_URL,
        lambda route: route.fulfill(
            status=200,
            body=_htmx_body,
            headers={
                "Content-Type": "text/javascript; charset=utf-8",
                "Access-Control-Allow-Origin": "*",
            },
        ),
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []

    def on_console(message):
        # A page answered 4xx on purpose (wrong password 401, invalid form 400) is logged
        # by Chromium as "Failed to load resource"; assets are checked on their own below.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    def on_response(response):
        if response.request.resource_type in ("stylesheet", "script", "image", "font") and (
            response.status >= 400
        ):
            errors.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", on_response)

    def on_failed(request):
        # A load the browser dropped because the page moved on (a click navigated while a
        # script was still arriving) is not an error of the page.
        if request.failure != "net::ERR_ABORTED":
            errors.append(f"failed {request.url}: {request.failure}")

    page.on("requestfailed", on_failed)
    name = re.sub(r"[^a-z0-9_-]+", "-", request.node.name.lower()).strip("-")
    page.screens = Screens(page, name)
    page.viewport_name = viewport
    yield page
    context.close()
    assert not errors, f"console errors: {errors}"


@pytest.fixture
def no_js_page(_playwright_browser, live_server):
    """A page with JavaScript turned off (every page must work without it)."""
    context = _playwright_browser.new_context(
        base_url=live_server, java_script_enabled=False, **VIEWPORTS["phone"]
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def login(page, username: str, password: str = "password-123") -> None:
    page.goto("/auth/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(r"/$|/today|/people"))
