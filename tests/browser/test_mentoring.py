"""The mentoring network on phones (360×740): a mentor sees the overdue mentee first, logs a
household meeting with three mentees and attests one skill; a mentee scans the meeting's QR
on her own phone and then confirms the meeting; the organiser's view shows the new counts and
the mentee's evidence names the mentor. Screenshots in test-artifacts/mentoring-*.png."""

import io
import re
from datetime import timedelta

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, VIEWPORTS, login
from tests.factories import build_world, make_household, make_person
from webapp.accounts.models import User
from webapp.extensions import db
from webapp.learning.framework import seed_framework
from webapp.mentoring import services
from webapp.mentoring.models import Organisation
from webapp.people.models import Village
from webapp.timeutil import utcnow

pytestmark = pytest.mark.browser


@pytest.fixture
def network(app):
    """Mentor An (log-in "mentor") with Ông Ba, assigned three weeks ago and never met, and
    the household T1-050 of three, assigned today."""
    with app.app_context():
        world = build_world()
        now = utcnow()
        seed_framework(now)
        village = db.session.get(Village, world.village_ids[0])
        organiser = db.session.get(User, world.users["organiser"])
        an = services.make_mentor(
            actor=organiser,
            now=now - timedelta(days=30),
            person=make_person(village, "Nguyễn Văn An", 2001),
            organisation=Organisation.YOUTH_UNION,
            village_id=village.id,
        )
        mentor_user = db.session.get(User, world.users["mentor"])
        services.link_account(actor=organiser, now=now, mentor=an, user=mentor_user)
        ba = make_person(village, "Trần Văn Ba", 1945)
        services.assign(actor=organiser, now=now - timedelta(days=21), mentor=an, person=ba)
        household = make_household(village, "T1-050")
        family = [
            make_person(village, "Nguyễn Thị Hoa", 1950, household=household, phone="0905111222"),
            make_person(village, "Nguyễn Văn Lâm", 1948, household=household),
            make_person(village, "Nguyễn Thị Mai", 1975, household=household),
        ]
        services.assign_household(actor=organiser, now=now, mentor=an, household=household)
        db.session.commit()
        return {"hoa": family[0].id, "mai": family[2].id}


def _phone(browser, live_server):
    context = browser.new_context(base_url=live_server, locale="vi-VN", **VIEWPORTS["phone"])
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and not m.text.startswith("Failed to load resource")
            and errors.append(m.text)
        ),
    )
    return context, page, errors


def _shot(page, label: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"mentoring-{label}.png", full_page=True)


def _log_in(page, username: str) -> None:
    page.goto("/auth/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill("password-123")
    page.get_by_role("button", name="Đăng nhập").click()


def test_a_mentor_logs_a_household_meeting_the_mentee_confirms_it(
    app, network, request, live_server
):
    browser = request.getfixturevalue("_playwright_browser")
    # The mentor, on a phone, lands on their mentees: the overdue one comes first.
    context, mentor, errors = _phone(browser, live_server)
    _log_in(mentor, "mentor")
    expect(mentor).to_have_url(re.compile(r"/mentor$"))
    households = mentor.locator("section.household")
    expect(households.first).to_contain_text("Trần Văn Ba")
    expect(households.first).to_contain_text("Quá hạn")
    expect(households.nth(1)).to_contain_text("Hộ T1-050")
    _shot(mentor, "01-mentor-home")

    # One tap: today's meeting with the whole household, the three of them ticked.
    households.nth(1).get_by_role("link", name="Ghi buổi gặp hôm nay với cả hộ").click()
    for name in ("Nguyễn Thị Hoa", "Nguyễn Văn Lâm", "Nguyễn Thị Mai"):
        expect(mentor.get_by_label(name)).to_be_checked()
    expect(mentor.get_by_label("Trần Văn Ba")).not_to_be_checked()
    mentor.locator("summary", has_text="Kỹ năng đã thực hành").click()
    mentor.get_by_label(re.compile(r"^1\.1 ")).check()
    _shot(mentor, "02-meeting-form")
    mentor.get_by_role("button", name="Lưu buổi gặp").click()
    expect(mentor.get_by_role("status")).to_contain_text("Đã lưu buổi gặp")

    # "Can do" for one of them, for the skill practised.
    mentor.locator("fieldset", has_text="1.1").get_by_label("Nguyễn Thị Mai").check()
    mentor.get_by_role("button", name="Lưu: đã làm được").click()
    expect(mentor.get_by_role("status")).to_contain_text("xác nhận 1 năng lực")
    expect(mentor.locator("li.mentee", has_text="Nguyễn Thị Mai")).to_contain_text("Làm được: 1.1")
    _shot(mentor, "03-meeting-page")
    png = mentor.locator(".qr svg").screenshot()
    [qr] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert re.fullmatch(r"https?://[^/]+/c/[\w-]+", qr.text), qr.text

    # The mentee's own phone: she scans the meeting's QR, says who she is (the phone is
    # remembered), and on her phone page confirms her mentor's visit with one tap.
    phone_context, phone, phone_errors = _phone(browser, live_server)
    phone.goto(re.sub(r"^https?://[^/]+", "", qr.text))
    expect(phone.get_by_text("Gặp Đại sứ số Nguyễn Văn An")).to_be_visible()
    phone.get_by_label("Số điện thoại của bạn").fill("0905111222")
    phone.get_by_label("Năm sinh của bạn").fill("1950")
    phone.get_by_role("button", name="Điểm danh").click()
    # The mentor had ticked her already: nothing is recorded twice.
    expect(phone.get_by_role("heading", level=1)).to_have_text("Đã điểm danh rồi")
    phone.goto("/hoc")
    expect(phone.get_by_text("Đại sứ số Nguyễn Văn An đã gặp bạn hôm nay?")).to_be_visible()
    _shot(phone, "04-mentee-asked")
    phone.get_by_role("button", name="Đúng, đã gặp").click()
    expect(phone.get_by_role("status")).to_contain_text("Buổi gặp đã được xác nhận")
    expect(phone.get_by_text("đã gặp bạn hôm nay?")).to_have_count(0)
    _shot(phone, "05-mentee-confirmed")
    phone_context.close()

    mentor.goto("/mentor")
    expect(mentor.locator("ul.meetings li").first).to_contain_text("Nguyễn Thị Hoa ✓")
    _shot(mentor, "06-mentor-home-after")
    context.close()

    # The organiser: the new counts, and the mentee's evidence names the mentor.
    office_context, office, office_errors = _phone(browser, live_server)
    login(office, "organiser")
    office.goto("/mentoring")
    row = office.locator("tr", has_text="Nguyễn Văn An")
    expect(row).to_contain_text("4")  # active mentees
    _shot(office, "07-organiser-overview")
    office.goto(f"/people/{network['mai']}/evidence")
    attested = office.locator("tr", has_text="Xác nhận của người hướng dẫn")
    expect(attested).to_contain_text("1.1")
    expect(attested).to_contain_text("Đại sứ số Nguyễn Văn An")
    _shot(office, "08-evidence")
    office_context.close()
    assert not (errors or phone_errors or office_errors), (errors, phone_errors, office_errors)
