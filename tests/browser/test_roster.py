"""The roster on a 360x740 phone (issue 14, points 4, 5 and 7): a class of 30 fits in about
three screens, because a reason field appears only in a row whose change needs one; a refused
change says so in the person's row, with JavaScript and without; each person is named with
their birth year and village."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, login
from tests.checkin.checkin_world import build
from tests.factories import make_person
from webapp.checkin import services
from webapp.checkin.models import Attendance, Method
from webapp.checkin.occasions import SessionOccasion
from webapp.extensions import db
from webapp.people.models import Person, Village
from webapp.scheduling.models import ClassSession, Enrolment
from webapp.timeutil import utcnow

pytestmark = pytest.mark.browser

SCREEN = 740
NAMES = [
    "Nguyễn Văn An",
    "Trần Thị Bích Ngọc",
    "Lê Văn Cường",
    "Phạm Thị Dung",
    "Hoàng Văn Đức",
    "Huỳnh Thị Giang",
    "Võ Văn Hải",
    "Đặng Thị Hạnh",
    "Bùi Văn Khoa",
    "Đỗ Thị Lan",
    "Hồ Văn Long",
    "Ngô Thị Mai",
    "Dương Văn Minh",
    "Lý Thị Nga",
    "Phan Văn Phúc",
    "Vũ Thị Quỳnh",
    "Đinh Văn Sơn",
    "Trịnh Thị Thảo",
    "Mai Văn Thắng",
    "Tạ Thị Thu Trang",
    "Lương Văn Tuấn",
    "Kiều Thị Uyên",
    "Cao Văn Vinh",
    "Lâm Thị Xuân",
    "A Xiêm",
    "Y Điêng",
    "H'Hen Niê",
]  # with the world's three learners: 30


@pytest.fixture
def cw(app, world):
    with app.app_context():
        return build(world)


def _thirty_learners(app, world, cw) -> None:
    """27 more learners; 15 checked in on their own phones, 5 marked on the roster."""
    with app.app_context():
        session = db.session.get(ClassSession, cw.session_id)
        occasion, now = SessionOccasion(session), utcnow()
        village = db.session.get(Village, world.village_ids[1])
        people = []
        for i, name in enumerate(NAMES):
            person = make_person(village, name, 1950 + i)
            db.session.add(
                Enrolment(class_id=cw.class_id, person=person, status="enrolled", since=now)
            )
            people.append(person)
        db.session.flush()
        for person in people[:15]:
            services.check_in(occasion, person, method=Method.SELF_SCAN, now=now)
        trainer = session.course_class.trainers[0]
        for person in people[15:20]:
            services.check_in(occasion, person, method=Method.ROSTER, now=now, actor=trainer)
        db.session.commit()


@pytest.mark.parametrize("viewport", ["phone"])
def test_a_roster_of_thirty_fits_in_about_three_phone_screens(app, world, page, cw):
    _thirty_learners(app, world, cw)
    login(page, "trainer")
    page.goto(f"/sessions/{cw.session_id}/roster")
    expect(page.locator("tr.roster-row")).to_have_count(30)
    height = page.evaluate("document.documentElement.scrollHeight")
    page.screens.shot("thirty")
    assert height <= 3.5 * SCREEN, f"{height} px = {height / SCREEN:.1f} screens"
    assert page.locator("input[name=reason]").count() == 0  # no change asked for one yet
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # Each row: the name with birth year and village, and the four statuses in one line.
    row = page.locator("tr", has_text="A Xiêm")
    expect(row.locator(".person-meta")).to_contain_text("1974 · Thôn 2")
    tops = {round(b.bounding_box()["y"]) for b in row.get_by_role("button").all()}
    assert len(tops) == 1, tops


def _phone_check_in(app, cw, name: str) -> int:
    with app.app_context():
        session = db.session.get(ClassSession, cw.session_id)
        person = db.session.get(Person, cw.learners[name])
        services.check_in(SessionOccasion(session), person, method=Method.SELF_SCAN, now=utcnow())
        db.session.commit()
        return person.id


def _status(app, person_id: int) -> str:
    with app.app_context():
        return db.session.query(Attendance).filter_by(person_id=person_id).one().status


def test_a_refused_change_without_javascript_is_shown_in_the_row(app, no_js_page, cw):
    person_id = _phone_check_in(app, cw, "Nguyễn Thị Hồng Nhung")
    page = no_js_page
    login(page, "trainer")
    page.goto(f"/sessions/{cw.session_id}/roster")
    row = page.locator(f"#person-{person_id}")
    expect(row.locator("input[name=reason]")).to_have_count(0)
    row.get_by_role("button", name="Vắng", exact=True).click()

    # Back at the row: unchanged, the message in it, and a reason field now.
    assert page.url.endswith(f"#person-{person_id}")
    row = page.locator(f"#person-{person_id}")
    expect(row.get_by_role("alert")).to_contain_text("Hãy ghi lý do sửa điểm danh.")
    expect(row.get_by_role("alert")).to_contain_text("bấm lại “Vắng”")
    box, height = row.bounding_box(), page.viewport_size["height"]
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, box  # in view
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Nguyễn Thị Hồng Nhung: Hãy ghi lý do sửa điểm danh.")
    expect(row.get_by_role("button", name="Có mặt", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    assert _status(app, person_id) == "present"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "roster-refused-no-js.png")

    # The second step: the reason, then the same tap.
    row.get_by_label("Lý do thay đổi").fill("Con gái quét hộ, bà không đến")
    row.get_by_role("button", name="Vắng", exact=True).click()
    expect(page.get_by_text("Nguyễn Thị Hồng Nhung: Vắng")).to_be_visible()
    assert _status(app, person_id) == "absent"
    expect(page.locator(f"#person-{person_id} input[name=reason]")).to_have_count(0)


@pytest.mark.parametrize("viewport", ["phone"])
def test_a_refused_change_with_htmx_asks_for_the_reason_in_the_row(app, page, cw):
    person_id = _phone_check_in(app, cw, "Đặng Văn Ướt")
    login(page, "trainer")
    page.goto(f"/sessions/{cw.session_id}/roster")
    page.evaluate("window.stillTheSamePage = true")
    row = page.locator(f"#person-{person_id}")
    row.get_by_role("button", name="Vắng có phép", exact=True).click()
    expect(row.get_by_role("alert")).to_contain_text("Hãy ghi lý do sửa điểm danh.")
    page.screens.shot("reason-asked")
    row.get_by_label("Lý do thay đổi").fill("Ốm, con trai báo")
    row.get_by_role("button", name="Vắng có phép", exact=True).click()
    expect(row.get_by_role("button", name="Vắng có phép", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(row.get_by_role("alert")).to_have_count(0)
    expect(row.locator(".record-line")).to_contain_text(re.compile("Vắng có phép"))
    assert page.evaluate("window.stillTheSamePage === true")
    assert _status(app, person_id) == "excused"
