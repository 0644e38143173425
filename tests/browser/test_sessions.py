"""A shared commune computer: after signing out, Back does not show a personal page again."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login
from tests.factories import make_person
from webapp.extensions import db
from webapp.people.models import Village

pytestmark = pytest.mark.browser


@pytest.fixture
def person_id(app, world) -> int:
    with app.app_context():
        village = db.session.get(Village, world.village_ids[0])
        person = make_person(village, "Hồ Thị Riêng Tư", 1951, phone="0912345678")
        db.session.commit()
        return person.id


def test_back_after_sign_out_does_not_show_the_personal_page(no_js_page, person_id):
    # The page without JavaScript (no routed htmx script): Playwright turns the HTTP cache
    # off in a context that routes requests, and the browser's caches are what is tested.
    page = no_js_page
    cdp = page.context.new_cdp_session(page)
    cdp.send("Page.enable")
    not_kept: list[str] = []  # why Chromium would not keep a page for Back (bfcache)
    cdp.on(
        "Page.backForwardCacheNotUsed",
        lambda event: not_kept.extend(r["reason"] for r in event["notRestoredExplanations"]),
    )
    login(page, "organiser")
    page.goto(f"/people/{person_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hồ Thị Riêng Tư")
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.get_by_text("Bạn đã đăng xuất")).to_be_visible()
    page.go_back()
    page.wait_for_load_state()
    # Back asked the server again, which sent the visitor to sign in...
    assert any(url.endswith(f"/people/{person_id}") for url in asked)
    expect(page).to_have_url(re.compile(r"/auth/login"))
    expect(page.get_by_text("Hồ Thị Riêng Tư")).to_have_count(0)
    # ...and the page itself forbids keeping it (a browser with its back-forward cache on
    # would otherwise show it again without asking).
    assert "MainResourceHasCacheControlNoStore" in not_kept, not_kept
