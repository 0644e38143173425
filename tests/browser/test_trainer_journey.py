"""The trainer's journey in a real browser, on a desktop and on a phone.

Create a course, a venue and a class; plan a weekly series (with its preview and a skipped
day); enrol ten people including a whole household; the eleventh goes to the waiting
list; cancel today's session; see it all on the trainer's day.
"""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import login
from tests.factories import make_household, make_person
from webapp.extensions import db
from webapp.people.models import Village
from webapp.scheduling.models import ClassSession, Enrolment
from webapp.timeutil import to_local, utcnow

pytestmark = pytest.mark.browser

WEEKDAYS_VI = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"]


@pytest.fixture
def learners(app, world):
    """A household of three (the Phạm family) and eight more learners in Thôn 1."""
    with app.app_context():
        village = db.session.get(Village, world.village_ids[0])
        household = make_household(village, "T1-050")
        for name, year in (("Phạm Văn Lộc", 1956), ("Phạm Thị Hoa", 1959), ("Phạm Văn Tài", 1990)):
            make_person(village, name, year, household=household)
        for i in range(1, 9):
            make_person(village, f"Võ Thị Học{i:02d}", 1950 + i)
        db.session.commit()


def dmy(day) -> str:
    return day.strftime("%d/%m/%Y")


def enrol(page, name: str) -> None:
    """Search (accents optional) and press the Enrol button of that person."""
    search = page.get_by_label("Tìm theo tên hoặc số điện thoại")
    search.fill("")
    search.press_sequentially(name, delay=20)
    button = page.get_by_role("button", name=f"Ghi danh {name}", exact=True)
    button.click()
    page.wait_for_load_state()


def test_trainer_plans_a_class_enrols_learners_and_cancels_a_session(app, page, learners):
    today = to_local(utcnow()).date()
    page.set_default_timeout(15_000)
    login(page, "trainer")
    expect(page).to_have_url(re.compile(r"/today$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Lịch hôm nay của tôi")

    # 1. A course.
    page.goto("/courses/new")
    page.get_by_label("Tên", exact=True).fill("Kỹ năng số cho người cao tuổi")
    page.get_by_label("Tóm tắt").fill("Dùng điện thoại thông minh, VNeID, thanh toán QR.")
    page.get_by_label("Người dân", exact=True).check()
    page.get_by_label("Người cao tuổi (từ 60 tuổi)").check()
    page.get_by_label("Năng lực theo khung").fill("1.1, 2.3")
    page.get_by_label("Số giờ dự kiến").fill("8")
    page.get_by_label("Số buổi học").fill("4")
    page.screens.shot("course-form")
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kỹ năng số cho người cao tuổi")
    course_url = page.url

    # 2. A venue.
    page.goto("/venues/new")
    page.get_by_label("Tên", exact=True).fill("Nhà văn hóa Thôn 1")
    page.get_by_label("Thôn").select_option(label="Thôn 1")
    page.get_by_label("Số chỗ").fill("30")
    page.get_by_label("Lối đi không bậc thềm").check()
    page.get_by_role("button", name="Lưu").click()
    expect(page.locator("main")).to_contain_text("Nhà văn hóa Thôn 1")

    # 3. A class of the course with ten seats.
    page.goto(course_url)
    page.get_by_role("link", name="Mở lớp mới cho khóa học này").click()
    page.get_by_label("Tên lớp").fill("Lớp cao tuổi Thôn 1")
    page.get_by_label("Thôn").select_option(label="Thôn 1")
    page.get_by_label("Số chỗ").fill("10")
    page.get_by_label("Trạng thái").select_option(label="Đang nhận đăng ký")
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lớp cao tuổi Thôn 1")
    class_url = page.url

    # 4. A weekly series: today's weekday for three weeks, skipping the second one.
    page.get_by_role("link", name="Lập lịch nhiều buổi học").click()
    page.get_by_label(WEEKDAYS_VI[today.weekday()], exact=True).check()
    page.get_by_label("Giờ bắt đầu (HH:MM)").fill("08:00")
    page.get_by_label("Giờ kết thúc (HH:MM)").fill("10:00")
    page.get_by_label("Ngày bắt đầu (dd/mm/yyyy)").fill(dmy(today))
    page.get_by_label("Số tuần").fill("3")
    skipped = today + timedelta(days=7)
    page.get_by_label("Ngày nghỉ (không bắt buộc)").fill(dmy(skipped))
    page.get_by_label("Địa điểm").select_option(label="Nhà văn hóa Thôn 1")
    page.get_by_role("button", name="Xem trước").click()
    preview = page.locator(".preview")
    expect(preview).to_contain_text("Dự kiến 2 buổi học")
    expect(preview).to_contain_text(dmy(today))
    expect(preview).to_contain_text(dmy(today + timedelta(days=14)))
    expect(preview.locator(".planned-list")).not_to_contain_text(dmy(skipped))
    expect(preview.locator(".skipped-days")).to_contain_text(dmy(skipped))  # says it left it out
    page.screens.shot("series-preview")
    with app.app_context():
        assert db.session.scalars(select(ClassSession)).all() == [], "the preview saves nothing"
    page.get_by_role("button", name="Lưu các buổi học").click()
    expect(page.locator("main")).to_contain_text("Đã thêm 2 buổi học")

    # 5. Enrol a household of three and seven more: the class is full.
    page.goto(class_url)
    page.get_by_role("link", name="Học viên và danh sách chờ").click()
    search = page.get_by_label("Tìm theo tên hoặc số điện thoại")
    search.press_sequentially("pham van loc", delay=20)
    page.get_by_role("button", name="Ghi danh cả hộ T1-050").click()
    expect(page.locator("main")).to_contain_text("Hộ T1-050: 3 người đã ghi danh")
    for i in range(1, 8):
        enrol(page, f"Võ Thị Học{i:02d}")
    expect(page.get_by_role("heading", name="Đã ghi danh (10/10 chỗ)")).to_be_visible()
    # The eleventh goes to the waiting list.
    enrol(page, "Võ Thị Học08")
    expect(page.locator("main")).to_contain_text(
        "Lớp đã đủ chỗ: Võ Thị Học08 đứng thứ 1 trong danh sách chờ."
    )
    expect(page.get_by_role("heading", name="Danh sách chờ (1)")).to_be_visible()
    page.screens.shot("roster-full")
    with app.app_context():
        statuses = sorted(e.status for e in db.session.scalars(select(Enrolment)))
        assert statuses == ["enrolled"] * 10 + ["waiting"]

    # 6. Cancel today's session with a reason.
    page.goto("/today")
    page.get_by_role("link", name="Mở buổi học").first.click()
    page.get_by_role("link", name="Hủy buổi học này").click()
    page.get_by_label("Vì sao hủy buổi học?").fill("Mưa lớn, đường vào thôn bị ngập")
    page.get_by_role("button", name="Hủy buổi học").click()
    expect(page.locator("main")).to_contain_text("Buổi học này đã bị hủy.")

    # 7. The trainer's day shows it all.
    page.goto("/today")
    today_section = page.locator("section", has=page.get_by_role("heading", name="Hôm nay"))
    expect(today_section).to_contain_text("Lớp cao tuổi Thôn 1")
    expect(today_section).to_contain_text("08:00–10:00")
    expect(today_section).to_contain_text("10 học viên đã ghi danh")
    expect(today_section).to_contain_text("Đã hủy")
    expect(today_section).to_contain_text("Mưa lớn, đường vào thôn bị ngập")
    page.screens.shot("trainer-day")
    with app.app_context():
        sessions = db.session.scalars(select(ClassSession).order_by(ClassSession.starts_at)).all()
        assert [s.cancelled_at is not None for s in sessions] == [True, False]
        assert to_local(sessions[0].starts_at).strftime("%H:%M") == "08:00"
