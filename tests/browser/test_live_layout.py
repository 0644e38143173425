"""The trainer's live page and its projector view (issue 14, point 1): the QR and the typed
code under it are both on screen without scrolling on the usual laptop and projector screens
and on a 360x740 phone, where the menu does not push the QR half a screen down."""

import pytest

from tests.browser.conftest import ARTIFACTS, VIEWPORTS, login
from tests.checkin.checkin_world import build

pytestmark = pytest.mark.browser

SCREENS = {
    "1280x860": {"viewport": {"width": 1280, "height": 860}},
    "1280x720": {"viewport": {"width": 1280, "height": 720}},
    "1024x768": {"viewport": {"width": 1024, "height": 768}},
    "phone": VIEWPORTS["phone"],
}


@pytest.fixture
def cw(app, world):
    with app.app_context():
        return build(world)


def _boxes(page) -> tuple[dict, dict]:
    qr = page.locator("#live-qr svg").bounding_box()
    code = page.get_by_test_id("session-code").bounding_box()
    return qr, code


@pytest.mark.parametrize("screen", list(SCREENS))
@pytest.mark.parametrize("view", ["live", "projector"])
def test_the_qr_and_the_typed_code_are_both_on_screen(request, app, cw, live_server, screen, view):
    browser = request.getfixturevalue("_playwright_browser")
    context = browser.new_context(base_url=live_server, locale="vi-VN", **SCREENS[screen])
    page = context.new_page()
    try:
        login(page, "trainer")
        query = "?full=1" if view == "projector" else ""
        page.goto(f"/sessions/{cw.session_id}/live{query}")
        size = SCREENS[screen]["viewport"]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"live-layout-{view}-{screen}.png")
        assert page.evaluate("window.scrollY") == 0
        qr, code = _boxes(page)
        where = f"{view} at {screen}: QR {qr}, code {code}"
        assert qr["x"] >= 0 and qr["x"] + qr["width"] <= size["width"], where
        assert qr["y"] >= 0 and qr["y"] + qr["height"] <= size["height"], where
        assert code["y"] + code["height"] <= size["height"], where
        assert code["y"] >= qr["y"] + qr["height"], where  # under the QR, not over it
        assert qr["width"] >= min(280, size["width"] * 0.75), where  # still a large QR
        if screen == "phone" and view == "live":
            # The menu takes one line: the QR starts in the top third of the screen.
            assert qr["y"] <= size["height"] / 3, where
    finally:
        context.close()
