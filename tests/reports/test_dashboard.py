"""/reports: the organiser sees their commune by village, a village lead their village by
household; the "who is left" list; the numbers are the figures'."""

import re

import pytest

from tests.factories import NOW, make_household
from tests.reports.test_figures import DAY, certificate, fw, people  # noqa: F401 (fixture)
from webapp.extensions import db


@pytest.fixture
def dash(fw, clock, actions):  # noqa: F811
    clock.set(NOW)
    h1 = make_household(fw.v1, "T1-001")
    a, b = people(fw.v1, "Nguyễn Văn Đã Học", "Trần Thị Chưa Học", household=h1)
    old = people(fw.v1, "Cụ Chưa Học", household=h1)[0]
    old.birth_year = 1940
    (far,) = people(fw.v2, "Hoàng Văn Xa Xôi")
    certificate(a, NOW - 3 * DAY, world=fw)
    db.session.commit()
    fw.names = {"a": a.full_name, "b": b.full_name, "old": old.full_name, "far": far.full_name}
    return fw


def _row(html: str, indicator: str, unit: str) -> list[str]:
    """The cells of ``unit``'s row in ``indicator``'s table."""
    section = html[html.index(f'id="ind-{indicator}"') :]
    section = section[: section.index("</section>")]
    row = re.search(
        rf"<tr>\s*<th scope=\"row\">(?:<a [^>]*>)?{re.escape(unit)}.*?</tr>", section, re.S
    )
    assert row, (indicator, unit)
    return [
        re.sub(r"<[^>]+>|\s+", " ", c).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)
    ]


def test_the_organiser_sees_the_commune_by_village(dash, actions):
    actions.login("organiser")
    html = actions.client.get("/reports?year=2025").get_data(as_text=True)
    assert "Số liệu tính đến" in html
    cells = _row(html, "adults_basic", "Thôn 1")
    assert cells[:4] == ["1", "3", "33,3 %", "46,7 điểm"]
    assert _row(html, "adults_basic", "Thôn 2")[:3] == ["0", "1", "0 %"]
    assert "Người trưởng thành có kiến thức, kỹ năng số cơ bản" in html


def test_a_past_day_shows_the_figures_of_that_day(dash, actions):
    actions.login("organiser")
    day = (NOW - 5 * DAY).strftime("%d/%m/%Y")
    html = actions.client.get(f"/reports?year=2025&as_of={day}").get_data(as_text=True)
    assert _row(html, "adults_basic", "Thôn 1")[:2] == ["0", "3"]  # certified two days later


def test_nonsense_in_the_filter_falls_back_to_the_defaults(dash, actions):
    actions.login("organiser")
    for query in ("year=abc", "year=1800", "as_of=31/02/2025", "as_of=<script>", "village=abc"):
        response = actions.client.get(f"/reports?{query}")
        assert response.status_code == 200, query
        assert "<script>" not in response.get_data(as_text=True)


def test_the_village_lead_sees_their_village_by_household(dash, actions):
    actions.login("lead")
    html = actions.client.get("/reports?year=2025").get_data(as_text=True)
    assert _row(html, "adults_basic", "T1-001")[:3] == ["1", "3", "33,3 %"]
    assert "Thôn 2" not in html and "T2-" not in html
    assert actions.client.get(f"/reports?village={dash.v2.id}").status_code == 404


def test_one_village_by_household_for_the_organiser(dash, actions):
    actions.login("organiser")
    html = actions.client.get(f"/reports?year=2025&village={dash.v1.id}").get_data(as_text=True)
    assert _row(html, "adults_basic", "T1-001")[:2] == ["1", "3"]


def test_who_is_left_priority_first_own_village_only(dash, actions):
    actions.login("lead")
    page = actions.client.get(f"/reports/left/adults_basic?year=2025&village={dash.v1.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.index(dash.names["old"]) < html.index(dash.names["b"])  # the older person first
    assert dash.names["a"] not in html and dash.names["far"] not in html
    assert actions.client.get(f"/reports/left/adults_basic?village={dash.v2.id}").status_code == 404
    assert actions.client.get("/reports/left/nonsense?year=2025").status_code == 404


def test_the_organiser_prints_any_village_of_the_commune(dash, actions):
    actions.login("organiser")
    page = actions.client.get(f"/reports/left/adults_basic?year=2025&village={dash.v2.id}")
    assert page.status_code == 200 and dash.names["far"] in page.get_data(as_text=True)
    assert actions.client.get("/reports/left/adults_basic?year=2025").status_code == 404


@pytest.mark.parametrize("username", ["trainer", "mentor"])
def test_trainers_and_mentors_read_no_reports(dash, actions, username):
    actions.login(username)
    assert actions.client.get("/reports").status_code == 403


def test_a_province_wide_admin_sees_communes_side_by_side(dash, actions):
    actions.login("admin")
    html = actions.client.get("/reports?year=2025").get_data(as_text=True)
    assert _row(html, "adults_basic", "Ngọk Bay")[:2] == ["1", "4"]
