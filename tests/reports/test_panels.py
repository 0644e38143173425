"""The dashboard's heavier panels on small known datasets: the month-by-month trend, classes
and sessions held with their attendance rate (the class grid's rule), the learners by segment
and sex; each scoped, a fragment for htmx and a full page without JavaScript."""

import re
from datetime import datetime

import pytest

from tests.factories import NOW, make_class, make_course, make_household, make_person, make_session
from tests.reports.test_dashboard import dash  # noqa: F401 (fixture)
from tests.reports.test_figures import DAY, fw, indicator  # noqa: F401 (fixture)
from webapp.accounts.models import User
from webapp.checkin import records
from webapp.checkin.models import Attendance
from webapp.extensions import db
from webapp.reports import panels
from webapp.reports.figures import Scope
from webapp.scheduling.models import Enrolment
from webapp.timeutil import LOCAL_TZ


def record(person, session, status="present", at=None):
    at = at or session.starts_at
    db.session.add(
        Attendance(
            occasion_kind="session",
            occasion_id=session.id,
            person_id=person.id,
            status=status,
            method="roster",
            recorded_at=at,
            updated_at=at,
        )
    )


def enrol(person, course_class):
    db.session.add(
        Enrolment(class_id=course_class.id, person_id=person.id, status="enrolled", since=NOW)
    )


@pytest.fixture
def held(fw, clock, actions):  # noqa: F811
    """Thôn 1's class (two sessions held, one cancelled, one to come), a class for the whole
    commune (one held), Thôn 2's class (held last year only)."""
    clock.set(NOW)
    trainer = db.session.get(User, fw.organiser.id)
    course = make_course(fw.commune_id, trainer.id, title="Điện thoại thông minh")
    c1 = make_class(course, [trainer], name="Lớp Thôn 1", village_id=fw.v1.id)
    c2 = make_class(course, [trainer], name="Lớp toàn xã")
    c3 = make_class(course, [trainer], name="Lớp Thôn 2", village_id=fw.v2.id)
    s1, s2 = make_session(c1, NOW - 10 * DAY), make_session(c1, NOW - 3 * DAY)
    s3, s4 = make_session(c1, NOW - 5 * DAY), make_session(c1, NOW + 2 * DAY)
    s3.cancelled_at = NOW - 6 * DAY
    s5 = make_session(c2, NOW - 2 * DAY)
    s6 = make_session(c3, datetime(2024, 6, 1, 2, tzinfo=LOCAL_TZ))
    poor = make_household(fw.v1, "T1-009", is_poor=True)
    a = make_person(fw.v1, "Nguyễn Văn An", 1970, sex="male")
    b = make_person(fw.v1, "Trần Thị Bình", 1980, sex="female")
    c = make_person(fw.v1, "Lê Văn Cường", 1985, sex="male")
    e = make_person(
        fw.v1,
        "Hà Thị Én",
        1950,
        sex="female",
        disability="vision",
        ethnic_minority=True,
        target_group="enterprise_worker",
        household=poor,
    )
    d = make_person(fw.v2, "Phạm Thị Dung", 1990, sex="female", trader_farmer=True)
    for person in (a, b, e):
        enrol(person, c1)
    enrol(d, c2)
    record(a, s1), record(a, s2, "late"), record(e, s1)
    record(b, s1, "absent"), record(b, s2, "excused"), record(b, s4, at=NOW)  # early: not held
    record(c, s3)  # a cancelled session: not counted, but c is on the class's grid
    record(d, s5), record(d, s6)
    db.session.commit()
    fw.c1 = c1
    return fw


def _cells(html: str, section: str, unit: str) -> list[str]:
    """The cells of ``unit``'s row in the panel ``section``."""
    part = html[html.index(f'id="panel-{section}"') :]
    part = part[: part.index("</section>")]
    row = re.search(rf"<tr><th scope=\"row\">{re.escape(unit)}</th>.*?</tr>", part, re.S)
    assert row, (section, unit)
    return [
        re.sub(r"<[^>]+>|\s+", " ", c).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)
    ]


def test_activity_by_village_and_the_communes_classes_of_no_village(held):
    found = panels.activity(held.scope, 2025, NOW)
    v1, v2 = held.v1.id, held.v2.id
    assert found.classes == {v1: 1, None: 1} and found.sessions == {v1: 2, None: 1}
    # Thôn 1: 4 learners (3 enrolled, 1 with a record) × 2 held sessions; An present and late,
    # Én present.
    assert (found.attended[v1], found.expected[v1], found.rate(v1)) == (3, 8, 37.5)
    assert (found.attended[None], found.expected[None]) == (1, 1)
    assert found.rate(total=True) == round(100 * 4 / 9, 1) and v2 not in found.units()
    last_year = panels.activity(held.scope, 2024, NOW)
    assert last_year.classes == {v2: 1} and last_year.rate(v2) == 100.0


def test_the_attendance_rate_is_the_class_grids(held):
    grid = records.class_grid(held.c1, now=NOW)
    found = panels.activity(Scope("household", (held.commune_id,), held.v1.id), 2025, NOW)
    assert (found.attended[held.v1.id], found.expected[held.v1.id]) == (
        grid.total.attended,
        grid.total.held,
    )


def test_learners_by_segment_and_sex(held):
    found = panels.learners(held.scope, 2025, NOW)
    v1 = found.units[held.v1.id]
    assert v1["all"] == 2  # An and Én: Bình only checked in early, Cường at a cancelled one
    assert (v1["male"], v1["female"], v1["older"], v1["disability"], v1["disability_vision"]) == (
        1,
        1,
        1,
        1,
        1,
    )
    assert (v1["worker"], v1["ethnic_minority"], v1["poor_household"], v1["trader_farmer"]) == (
        1,
        1,
        1,
        0,
    )
    assert found.units[held.v2.id]["trader_farmer"] == 1 and found.total("female") == 2
    assert found.total("all") == 3
    assert panels.learners(held.scope, 2024, NOW).total("all") == 1  # Dung, last year
    before = panels.learners(held.scope, 2025, NOW - 5 * DAY)
    assert before.total("all") == 2  # only Thôn 1's first session had been held: not Dung


def test_the_trend_month_by_month(dash):  # noqa: F811
    (line,) = panels.trend([indicator("adults_basic")], dash.scope, 2025, NOW)
    assert [m for m, _ in line.points] == list(range(1, 12))  # up to November
    october, november = line.points[9][1], line.points[10][1]
    assert (october.numerator, october.denominator, october.pct) == (0, 4, 0.0)
    assert (november.numerator, november.denominator, november.pct) == (1, 4, 25.0)
    assert line.points[0][1].pct is None  # nobody registered in January
    assert len(panels.month_ends(2024, NOW)) == 12 and panels.month_ends(2026, NOW) == []


def test_the_organiser_reads_the_panels(held, actions):
    actions.login("organiser")
    html = actions.client.get("/reports/panels/activity?year=2025").get_data(as_text=True)
    assert _cells(html, "activity", "Thôn 1") == ["1", "2", "3", "8", "37,5 %"]
    assert _cells(html, "activity", "Cả xã (không thuộc thôn)")[:4] == ["1", "1", "1", "1"]
    assert "<html" in html and "Quay lại bảng số liệu" in html  # a full page without htmx
    html = actions.client.get("/reports/panels/learners?year=2025").get_data(as_text=True)
    assert _cells(html, "learners", "Thôn 1")[:3] == ["2", "1", "1"]
    assert _cells(html, "learners", "Thôn 2")[0] == "1"


def test_a_village_lead_sees_only_their_village(held, actions):
    actions.login("lead")
    html = actions.client.get("/reports/panels/activity?year=2025").get_data(as_text=True)
    assert _cells(html, "activity", "Thôn 1")[:4] == ["1", "2", "3", "8"]
    assert "Thôn 2" not in html and "Cả xã (không" not in html
    html = actions.client.get("/reports/panels/learners?year=2025").get_data(as_text=True)
    assert _cells(html, "learners", "T1-009")[:3] == ["1", "1", "0"]  # Én, a woman
    assert _cells(html, "learners", "Không thuộc hộ nào")[:3] == ["1", "0", "1"]  # An
    assert "Thôn 2" not in html
    village = f"village={held.v2.id}"
    for panel in ("trend", "activity", "learners"):
        assert actions.client.get(f"/reports/panels/{panel}?{village}").status_code == 404


def test_the_trend_panel_and_the_fragment_for_htmx(dash, actions):  # noqa: F811
    actions.login("organiser")
    response = actions.client.get(
        "/reports/panels/trend?year=2025&code=adults_basic", headers={"HX-Request": "true"}
    )
    html = response.get_data(as_text=True)
    assert "<html" not in html and "HX-Request" in response.headers["Vary"]
    assert "25 %<br><small>1/4</small>" in html and "Tháng 11" in html and "Tháng 12" not in html
    assert html.count("<figure") == 1
    everything = actions.client.get("/reports/panels/trend?year=2025").get_data(as_text=True)
    assert everything.count("<figure") > 1


def test_the_dashboard_links_each_panel_for_a_browser_without_javascript(dash, actions):  # noqa: F811
    actions.login("organiser")
    html = actions.client.get(f"/reports?year=2025&village={dash.v1.id}").get_data(as_text=True)
    for panel in ("trend", "activity", "learners"):
        url = f"/reports/panels/{panel}?year=2025&amp;village={dash.v1.id}"
        assert f'hx-get="{url}" hx-trigger="revealed" hx-swap="outerHTML"' in html
        assert f'<a href="{url}">' in html
        page = actions.client.get(url.replace("&amp;", "&"))
        assert page.status_code == 200 and f'id="panel-{panel}"' in page.get_data(as_text=True)


def test_the_workbook_has_the_classes_and_attendance_of_the_panel(held, actions):
    import io

    import openpyxl

    actions.login("organiser")
    response = actions.client.get("/reports/export.xlsx?year=2025")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = book["Lớp học và điểm danh"]
    rows = {r[0]: r[1:] for r in sheet.iter_rows(values_only=True) if r and r[0]}
    assert rows["Thôn 1"][:4] == (1, 2, 3, 8) and rows["Thôn 1"][4] == 0.375
    assert rows["Cả xã (không thuộc thôn)"][:4] == (1, 1, 1, 1)
    assert rows["Tổng cộng"][:4] == (2, 3, 4, 9)
    assert "Thôn 2" not in rows  # no session of a Thôn 2 class held in 2025
