"""Check-in in a real browser: a learner's phone (first time, again, returning phone) and the
trainer's live page (the learner appears without reload; the QR on screen decodes to the
check-in address); the roster works with JavaScript off."""

import io
import re
from datetime import timedelta

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import VIEWPORTS, login
from tests.checkin.checkin_world import build
from tests.factories import make_session
from webapp.checkin import services
from webapp.checkin.occasions import SessionOccasion
from webapp.extensions import db
from webapp.scheduling.models import CourseClass
from webapp.timeutil import utcnow

pytestmark = pytest.mark.browser


@pytest.fixture
def cw(app, world):
    with app.app_context():
        return build(world)


def _second_session_token(app, cw) -> str:
    """Another session of the same class, also under way (a second room, say)."""
    with app.app_context():
        course_class = db.session.get(CourseClass, cw.class_id)
        start = (utcnow() - timedelta(minutes=5)).replace(microsecond=0)
        session = make_session(course_class, start, hours=1)
        token = services.point_for(SessionOccasion(session), now=utcnow()).token
        db.session.commit()
        return token


@pytest.mark.parametrize("viewport", ["phone"])
def test_learner_checks_in_on_a_phone(app, page, cw):
    page.goto(f"/c/{cw.token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Điểm danh")
    expect(page.get_by_text("Bạn là ai?")).to_be_visible()
    page.screens.shot("first-visit")
    page.get_by_label("Số điện thoại của bạn").fill("0905 123 456")
    page.get_by_label("Năm sinh của bạn").fill("1958")
    page.get_by_role("button", name="Điểm danh").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Đã điểm danh")
    expect(page.get_by_text("Nguyễn Thị Hồng Nhung")).to_be_visible()
    page.screens.shot("checked-in")

    # Scanning the same code again: already checked in, no second record.
    page.goto(f"/c/{cw.token}")
    done_line = re.compile(r"Nguyễn Thị Hồng Nhung — đã điểm danh lúc \d\d:\d\d")
    expect(page.get_by_text(done_line)).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Tôi có mặt"))).to_have_count(0)
    page.screens.shot("second-scan")

    # Next session: the phone remembers her, one tap.
    token = _second_session_token(app, cw)
    page.goto(f"/c/{token}")
    expect(page.get_by_label("Số điện thoại của bạn")).to_have_count(0)
    page.screens.shot("returning-phone")
    page.get_by_role("button", name=re.compile("Tôi có mặt.*Nguyễn Thị Hồng Nhung")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Đã điểm danh")
    page.screens.shot("one-tap")
    with app.app_context():
        from webapp.checkin.models import Attendance

        assert db.session.query(Attendance).count() == 2


def test_trainer_sees_the_learner_arrive_without_reload(app, page, cw, request, live_server):
    browser = request.getfixturevalue("_playwright_browser")
    login(page, "trainer")
    page.goto(f"/sessions/{cw.session_id}/live")
    expect(page.get_by_test_id("live-count")).to_have_text("0")
    expect(page.get_by_test_id("missing")).to_contain_text("Đặng Văn Ướt")
    page.screens.shot("live-empty")

    # The QR on the screen is the check-in address.
    png = page.locator("#live-qr svg").screenshot()
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert [r.text for r in found] == [f"{app.config['BASE_URL']}/c/{cw.token}"]

    page.evaluate("window.stillTheSamePage = true")  # gone if the page reloads

    # A learner checks in on her own phone (another browser).
    phone = browser.new_context(base_url=live_server, **VIEWPORTS["phone"])
    learner = phone.new_page()
    learner.goto(f"/c/{cw.token}")
    learner.get_by_label("Số điện thoại của bạn").fill("0905765432")
    learner.get_by_label("Năm sinh của bạn").fill("1949")
    learner.get_by_role("button", name="Điểm danh").click()
    expect(learner.get_by_role("heading", level=1)).to_have_text("Đã điểm danh")
    phone.close()

    expect(page.get_by_test_id("live-count")).to_have_text("1", timeout=15_000)
    expect(page.get_by_test_id("came")).to_contain_text("Đặng Văn Ướt")
    assert page.evaluate("window.stillTheSamePage === true")
    page.screens.shot("live-arrived")


def test_roster_tap_without_javascript(app, no_js_page, cw):
    page = no_js_page
    login(page, "trainer")
    page.goto(f"/sessions/{cw.session_id}/roster")
    row = page.locator("tr", has_text="Y Blích")
    row.get_by_role("button", name="Có mặt", exact=True).click()
    expect(page.get_by_text("Y Blích: Có mặt")).to_be_visible()
    row = page.locator("tr", has_text="Y Blích")
    present = row.get_by_role("button", name="Có mặt", exact=True)
    expect(present).to_have_attribute("aria-pressed", "true")
    page.screenshot(path="test-artifacts/roster-no-js.png", full_page=True)


def test_trainer_pages_without_the_learners_phone(app, page, cw):
    """Roster (htmx tap), card scanner with a typed code, cards, sheet and records, looked at."""
    login(page, "trainer")
    page.goto(f"/sessions/{cw.session_id}/roster")
    row = page.locator("tr", has_text="Đặng Văn Ướt")
    row.get_by_role("button", name="Đến muộn", exact=True).click()
    expect(
        page.locator("tr", has_text="Đặng Văn Ướt").get_by_role(
            "button", name="Đến muộn", exact=True
        )
    ).to_have_attribute("aria-pressed", "true")
    page.screens.shot("roster")

    with app.app_context():
        from webapp.people.models import Person

        code = db.session.get(Person, cw.learners["Y Blích"]).learner_code
    page.goto(f"/sessions/{cw.session_id}/scan")
    page.screens.shot("scanner")
    page.get_by_label("Mã học viên").fill(code.lower())
    page.get_by_role("button", name=re.compile("Điểm danh")).last.click()
    expect(page.get_by_text("Y Blích").first).to_be_visible()
    page.screens.shot("scanner-typed-code")

    for path, label, text in (
        (f"/classes/{cw.class_id}/cards", "cards", code[:3]),
        (f"/sessions/{cw.session_id}/sheet", "sheet", "Chữ ký"),
        (f"/sessions/{cw.session_id}/register", "register", "Y Blích"),
        (f"/classes/{cw.class_id}/attendance", "class-grid", "Đặng Văn Ướt"),
    ):
        page.goto(path)
        expect(page.locator("main")).to_contain_text(text)
        page.screens.shot(label)


def _learner_identifies(browser, live_server, token, phone_number, year):
    phone = browser.new_context(base_url=live_server, **VIEWPORTS["phone"])
    learner = phone.new_page()
    learner.goto(f"/c/{token}")
    learner.get_by_label("Số điện thoại của bạn").fill(phone_number)
    learner.get_by_label("Năm sinh của bạn").fill(year)
    learner.get_by_role("button", name="Điểm danh").click()
    expect(learner.get_by_role("heading", level=1)).to_have_text("Đã điểm danh")
    phone.close()


@pytest.mark.parametrize("viewport", ["phone"])
def test_trainer_confirms_or_undoes_new_phones_on_a_phone(app, page, cw, request, live_server):
    """On a 360×740 screen, with htmx: two phones linked at the session appear; one is
    confirmed, the other undone with the learner marked absent, without reloading."""
    from webapp.checkin.models import Attendance, Device

    browser = request.getfixturevalue("_playwright_browser")
    _learner_identifies(browser, live_server, cw.token, "0905123456", "1958")
    _learner_identifies(browser, live_server, cw.token, "0905765432", "1949")
    login(page, "trainer")
    page.goto(f"/sessions/{cw.session_id}/live")
    page.evaluate("window.stillTheSamePage = true")
    links = page.get_by_test_id("new-links")
    expect(links).to_contain_text("Nguyễn Thị Hồng Nhung")
    expect(links).to_contain_text("số điện thoại và năm sinh")
    page.screens.shot("new-links")
    nhung = links.locator("li", has_text="Nguyễn Thị Hồng Nhung")
    nhung.get_by_role("button", name="Xác nhận").click()
    expect(links.locator("li", has_text="Nguyễn Thị Hồng Nhung")).to_have_count(0)
    uot = page.get_by_test_id("new-links").locator("li", has_text="Đặng Văn Ướt")
    uot.get_by_label("Không có mặt: ghi vắng").check()
    uot.get_by_placeholder("Lý do").fill("Không phải máy của ông")
    uot.get_by_role("button", name="Hủy liên kết").click()
    expect(page.get_by_test_id("new-links")).to_have_count(0)
    expect(page.get_by_test_id("missing")).to_contain_text("Đặng Văn Ướt")
    assert page.evaluate("window.stillTheSamePage === true")
    page.screens.shot("links-decided")
    with app.app_context():
        devices = {d.person_id: d for d in db.session.query(Device)}
        assert devices[cw.learners["Nguyễn Thị Hồng Nhung"]].confirmed_at is not None
        assert devices[cw.learners["Đặng Văn Ướt"]].revoked_at is not None
        record = db.session.query(Attendance).filter_by(person_id=cw.learners["Đặng Văn Ướt"])
        assert record.one().status == "absent"


def test_trainer_confirms_a_new_phone_without_javascript(app, no_js_page, cw, request, live_server):
    from webapp.checkin.models import Device

    browser = request.getfixturevalue("_playwright_browser")
    _learner_identifies(browser, live_server, cw.token, "0905123456", "1958")
    page = no_js_page
    login(page, "trainer")
    page.goto(f"/sessions/{cw.session_id}/live")
    links = page.get_by_test_id("new-links")
    row = links.locator("li", has_text="Nguyễn Thị Hồng Nhung")
    row.get_by_role("button", name="Xác nhận").click()
    expect(page.get_by_text("Đã xác nhận điện thoại của Nguyễn Thị Hồng Nhung.")).to_be_visible()
    with app.app_context():
        assert db.session.query(Device).one().confirmed_at is not None


@pytest.mark.parametrize("viewport", ["phone"])
def test_a_card_scanned_again_looks_unlike_a_new_check_in(app, page, cw):
    """Typed twice on the scan page: green with a tick, then amber with a circle arrow and
    "đã điểm danh rồi lúc …" (issue 14, point 6)."""
    with app.app_context():
        from webapp.people.models import Person

        code = db.session.get(Person, cw.learners["Y Blích"]).learner_code
    login(page, "trainer")
    page.goto(f"/sessions/{cw.session_id}/scan")
    outcome = page.locator("#scan-result .scan-outcome")

    def scan():
        page.get_by_label("Mã học viên").fill(code)
        page.get_by_role("button", name=re.compile("Điểm danh")).last.click()

    scan()
    expect(outcome).to_have_attribute("data-kind", "new")
    expect(outcome).to_contain_text(re.compile(r"Y Blích\s+vừa điểm danh lúc \d\d:\d\d"))
    first = outcome.evaluate("e => [getComputedStyle(e).borderLeftColor, e.textContent]")
    page.screens.shot("new")
    scan()
    expect(outcome).to_have_attribute("data-kind", "repeat")
    expect(outcome).to_contain_text(re.compile(r"Y Blích\s+đã điểm danh rồi lúc \d\d:\d\d"))
    page.wait_for_timeout(1000)  # the flash of colour is over
    again = outcome.evaluate("e => [getComputedStyle(e).borderLeftColor, e.textContent]")
    page.screens.shot("repeat")
    assert first[0] != again[0]  # another colour
    assert "✓" in first[1] and "↻" in again[1]  # another icon


@pytest.mark.parametrize("viewport", ["desktop"])
def test_printed_cards_draw_one_path_per_qr_that_a_reader_decodes(app, page, cw):
    """The cards page as Chromium draws it: one <path> per QR, no repeated id, and the QR on
    the screen reads back as the card's address (issue 14, points 11 and 12)."""
    login(page, "trainer")
    page.goto(f"/classes/{cw.class_id}/cards")
    svgs = page.locator(".learner-card-qr svg")
    expect(svgs).to_have_count(3)
    shapes = "s => s.querySelectorAll('path, rect').length"
    assert svgs.evaluate_all(f"all => all.map({shapes})") == [1, 1, 1]
    ids = page.evaluate("[...document.querySelectorAll('[id]')].map(e => e.id)")
    assert len(ids) == len(set(ids))
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(svgs.first.screenshot())))
    assert len(found) == 1 and re.fullmatch(
        re.escape(app.config["BASE_URL"]) + r"/p/[A-Z0-9]{6}", found[0].text
    )
    page.screens.shot("cards")
