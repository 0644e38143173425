"""Reports against the plan in a real browser, on a desktop and on a 360×740 phone: the
organiser opens the dashboard, switches year and village, downloads the Excel workbook (read
back here), submits the quarter's report; the province-wide admin sees it submitted and
reopens it; a village lead sees only their village and prints the "who is left" list.
Screenshots in test-artifacts/."""

import io
import re
from datetime import timedelta

import openpyxl
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login
from tests.factories import build_world, make_class, make_course, make_household, make_person
from tests.reports.test_figures import certificate
from webapp.accounts.models import User
from webapp.extensions import db
from webapp.learning.framework import seed_framework
from webapp.people.models import Village
from webapp.reports import services
from webapp.timeutil import utcnow

pytestmark = pytest.mark.browser


@pytest.fixture
def plan(app):
    """Ngọk Bay: four adults in Thôn 1 (one certified), one in Thôn 2 (certified), the plan's
    indicators."""
    with app.app_context():
        base = build_world()
        now = utcnow()
        seed_framework(now)
        services.seed_indicators(now=now)
        v1, v2 = (db.session.get(Village, i) for i in base.village_ids)
        organiser = db.session.get(User, base.users["organiser"])
        course = make_course(base.commune_id, organiser.id)
        world = type("W", (), {})()
        world.class_id = make_class(course, [db.session.get(User, base.users["trainer"])]).id
        world.organiser = organiser
        household = make_household(v1, "T1-123")
        adults = [
            make_person(v1, name, year, household=household)
            for name, year in (
                ("Nguyễn Văn Đã Học", 1975),
                ("Cụ Bà Chưa Học", 1942),
                ("Trần Thị Chưa Học", 1980),
                ("Lê Văn Chưa Học", 1985),
            )
        ]
        far = make_person(v2, "Hoàng Văn Thôn Hai", 1970)
        for person in (*adults, far):
            person.created_at = now - timedelta(days=400)
        certificate(adults[0], now - timedelta(days=380), world=world)
        certificate(far, now - timedelta(days=370), world=world)
        db.session.commit()
        return {"v1": v1.id}


def _shot(page, label: str) -> None:
    page.screens.shot(label)


def test_the_commune_reports_its_progress_and_the_province_reopens(app, plan, page):
    # The organiser: the dashboard, another year, one village.
    login(page, "organiser")
    page.goto("/reports")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tiến độ so với kế hoạch 2026")
    expect(page.locator("#as-of")).to_contain_text("Số liệu tính đến")
    page.get_by_label("Năm").select_option("2025")
    page.get_by_role("button", name="Xem", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tiến độ so với kế hoạch 2025")
    adults = page.locator("#ind-adults_basic").locator("xpath=..")
    totals = [t.strip() for t in adults.locator("tfoot td").all_inner_texts()]
    assert totals == ["2", "5", "40 %", "40 điểm", "2"], totals
    _shot(page, "01-dashboard-2025")
    page.get_by_label("Thôn", exact=True).select_option(str(plan["v1"]))
    page.get_by_role("button", name="Xem", exact=True).click()
    expect(page.locator("#as-of")).to_contain_text("theo hộ")
    expect(page.locator("#ind-adults_basic").locator("xpath=..")).to_contain_text("T1-123")
    _shot(page, "02-dashboard-village")

    # The workbook, opened back: its summary says what the page says.
    with page.expect_download() as download:
        page.get_by_role("link", name="Tệp Excel").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    with open(download.value.path(), "rb") as saved:
        book = openpyxl.load_workbook(io.BytesIO(saved.read()))
    summary = book.worksheets[0]
    cells = [str(c.value) for row in summary.iter_rows() for c in row if c.value is not None]
    assert any("Người trưởng thành có kiến thức" in c for c in cells), cells[:20]
    assert book.sheetnames[0] == "Tổng hợp"

    # The quarter's report, submitted.
    page.goto("/reports/submit?period=2026-Q3")
    page.get_by_role("button", name=re.compile("Gửi báo cáo")).click()
    expect(page.get_by_role("status").first).to_contain_text("Đã gửi báo cáo")
    _shot(page, "03-submitted")
    page.context.clear_cookies()

    # The province: sees it submitted, reopens it.
    login(page, "admin")
    page.goto("/reports/submitted")
    expect(page.locator("table")).to_contain_text("Ngọk Bay")
    page.locator("table").get_by_role("link").first.click()
    page.get_by_label("Lý do mở lại báo cáo").fill("Thôn 2 nhập thiếu số liệu")
    page.get_by_role("button", name="Mở lại").click()
    expect(page.get_by_role("status").first).to_contain_text("Đã mở lại báo cáo")
    _shot(page, "04-reopened")
    page.context.clear_cookies()

    # The village lead: their village only, by household; the door-to-door list, printed.
    login(page, "lead")
    page.goto("/reports?year=2025")
    expect(page.locator("#as-of")).to_contain_text("theo hộ")
    expect(page.locator("main")).not_to_contain_text("Thôn Hai")
    page.locator("#ind-adults_basic").locator("xpath=..").get_by_role(
        "link", name="những người còn lại"
    ).click()
    listed = page.locator("table.left-list tbody tr")
    expect(listed).to_have_count(3)
    expect(listed.first).to_contain_text("Cụ Bà Chưa Học")  # older people first
    page.emulate_media(media="print")
    _shot(page, "05-who-is-left-print")
    expect(page.locator("nav").first).to_be_hidden()
