"""The organiser's view of the mentoring network (/mentoring), the weekly digest and the Excel
export: counts and flags, a village lead's scope, mentors refused, the workbook's numbers
equal to the page's, and a fixed number of SQL statements whatever the number of mentors."""

import io
from datetime import timedelta

import openpyxl
import pytest

from tests.factories import NOW, make_household
from tests.sql import statements
from webapp.extensions import db
from webapp.mentoring import overview, services
from webapp.mentoring.meetings import MeetingDetails, log_meeting
from webapp.mentoring.models import MeetingConfirmation

#: Mentorships start 40 days before NOW (16/10 local): overdue unless met since.
STARTED = NOW - timedelta(days=40)


@pytest.fixture
def en(client):
    client.set_cookie("lang", "en")  # messages as written in the code


@pytest.fixture
def at_now(clock):
    clock.set(NOW)  # 25/11/2025 10:00 in Vietnam: the month is November
    return clock


def give(mw, mentor, *people):
    for person in people:
        services.assign(actor=mw.users["organiser"], now=STARTED, mentor=mentor, person=person)


def meet(mw, mentor, people, *, when, minutes=60, held=True):
    details = MeetingDetails(
        people=people, minutes=minutes, place="home", held=held, starts_at=when
    )
    return log_meeting(actor=mw.users["organiser"], now=when, mentor=mentor, details=details)


@pytest.fixture
def network(mw):
    """An: five mentees of Thôn 1 (an older person, a person with a disability, a member of a
    poor household, two others), met twice this month (once nobody home) and once last month;
    Bình: one mentee, met this month; Cường (Thôn 2): none. Unmatched priority people: an
    older person in Thôn 1 and a person with a disability in Thôn 2."""
    an, binh = mw.mentors["an"], mw.mentors["binh"]
    poor = make_household(mw.v1, "T1-050", is_poor=True)
    people = [
        mw.villager("Đặng Văn Già", 1950),
        mw.villager("Võ Thị Khuyết", disability="mobility"),
        mw.villager("Hồ Văn Nghèo", household=poor),
        mw.villager("Lý Thị Bốn"),
        mw.villager("Tô Văn Năm"),
    ]
    give(mw, an, *people)
    lone = mw.villager("Kiều Thị Một")
    give(mw, binh, lone)
    mw.villager("Mai Văn Chờ", 1940)  # unmatched, older, Thôn 1
    mw.villager("Bùi Thị Đợi", village=mw.v2, disability="vision")  # unmatched, Thôn 2
    mw.villager("Ngô Văn Trẻ")  # unmatched, no priority segment
    meet(mw, an, people[:1], when=NOW - timedelta(days=26))  # 30/10: last month
    held = meet(mw, an, people[:2], when=NOW - timedelta(days=1), minutes=90)
    meet(mw, an, people[2:3], when=NOW - timedelta(days=2), held=False)
    meet(mw, binh, [lone], when=NOW - timedelta(days=1), minutes=30)
    db.session.add(
        MeetingConfirmation(meeting_id=held.id, person_id=people[0].id, confirmed_at=NOW)
    )
    db.session.commit()
    return people


def row_of(html: str, mentor) -> str:
    return html.split(f'id="overview-mentor-{mentor.id}"')[1].split("</tr>")[0]


def cell(row: str, name: str) -> str:
    return row.split(f'class="{name}">')[1].split("<")[0].strip()


def total(html: str, name: str) -> str:
    return html.split(f'id="total-{name}">')[1].split("<")[0]


# --- the numbers -----------------------------------------------------------------------------


def test_the_overview_counts_and_flags(app, mw, network):
    found = overview.overview(mw.users["organiser"], now=NOW)
    rows = {r.mentor.id: r for r in found.rows}
    an, binh, cuong = (rows[mw.mentors[k].id] for k in ("an", "binh", "cuong"))
    assert (an.mentees, an.meetings, an.hours, an.overdue, an.under_minimum) == (
        5,
        1,
        1.5,
        3,
        False,
    )
    assert (binh.mentees, binh.meetings, binh.hours, binh.overdue, binh.under_minimum) == (
        1,
        1,
        0.5,
        0,
        True,
    )
    assert (cuong.mentees, cuong.meetings, cuong.under_minimum) == (0, 0, True)
    t = found.totals
    assert (t.mentors, t.mentees, t.under_minimum, t.overdue) == (3, 6, 2, 3)
    assert (t.meetings, t.hours, t.confirmed) == (2, 2.0, 1)
    assert found.by_village == [("Thôn 1", 6)]
    assert found.by_segment["older"] == 1
    assert found.by_segment["disability"] == 1
    assert found.by_segment["poor_household"] == 1
    unmatched = {u.village: u for u in found.unmatched}
    assert {v: u.people for v, u in unmatched.items()} == {"Thôn 1": 1, "Thôn 2": 1}
    assert unmatched["Thôn 1"].by_segment["older"] == 1
    assert unmatched["Thôn 2"].by_segment["disability"] == 1
    assert [c.code for c in found.without_helper] == ["NGOKBAY"]


def test_the_page_shows_the_counts_and_flags(app, mw, network, actions, en, at_now):
    actions.login("organiser")
    response = actions.client.get("/mentoring")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    an = row_of(html, mw.mentors["an"])
    assert "Nguyễn Văn An" in an and "below the minimum" not in an
    assert cell(an, "mentees") == "5" and cell(an, "meetings") == "1"
    assert cell(an, "hours") == "1.5" and cell(an, "overdue") == "3"
    assert "below the minimum" in row_of(html, mw.mentors["binh"])
    assert total(html, "mentors") == "3" and total(html, "mentees") == "6"
    assert total(html, "under") == "2" and total(html, "overdue") == "3"
    assert total(html, "meetings") == "2" and total(html, "hours") == "2"
    assert total(html, "confirmed") == "1"
    assert "has no mentor helping at the public-service centre" in html
    assert 'href="/mentoring/mentors"' in html and 'href="/mentoring/digest"' in html
    assert 'href="/mentoring/export.xlsx"' in html


def test_the_page_is_in_vietnamese(app, mw, network, actions, at_now):
    actions.login("organiser")
    html = actions.client.get("/mentoring").get_data(as_text=True)
    assert "dưới mức tối thiểu" in html


def test_the_counter_helper_warning_goes_once_there_is_one(app, mw, actions, en, at_now):
    mw.mentor("Phan Văn Quầy", counter_helper=True)
    db.session.commit()
    actions.login("organiser")
    html = actions.client.get("/mentoring").get_data(as_text=True)
    assert "public-service centre" not in html


# --- scope and roles -------------------------------------------------------------------------


def test_a_village_lead_sees_only_their_village(app, mw, network, actions, en, at_now):
    cuong_mentee = mw.villager("Lò Văn Thôn Hai", village=mw.v2)
    give(mw, mw.mentors["cuong"], cuong_mentee)
    db.session.commit()
    actions.login("lead2")
    html = actions.client.get("/mentoring").get_data(as_text=True)
    assert "Lê Văn Cường" in html
    assert "Nguyễn Văn An" not in html and "Trần Thị Bình" not in html
    assert total(html, "mentors") == "1" and total(html, "mentees") == "1"
    assert "Thôn 1" not in html.split("<main")[1]
    digest = actions.client.get("/mentoring/digest").get_data(as_text=True)
    assert "Lò Văn Thôn Hai" in digest
    assert not any(p.full_name in digest for p in network)
    assert "Nguyễn Văn An" not in digest
    text = book_text(actions.client.get("/mentoring/export.xlsx"))
    assert "Lò Văn Thôn Hai" in text and "Lê Văn Cường" in text
    assert "Nguyễn Văn An" not in text and not any(p.full_name in text for p in network)


@pytest.mark.parametrize("path", ["/mentoring", "/mentoring/digest", "/mentoring/export.xlsx"])
def test_mentors_and_trainers_get_403(app, mw, actions, path):
    for username in ("mentor", "trainer"):
        actions.login(username)
        assert actions.client.get(path).status_code == 403, username
        actions.logout()


# --- the digest ------------------------------------------------------------------------------


def test_the_digest_lists_who_needs_attention(app, mw, network, actions, en, at_now):
    actions.login("organiser")
    html = actions.client.get("/mentoring/digest").get_data(as_text=True)
    overdue = html.split('id="digest-overdue"')[1].split("</section>")[0]
    for person in network[2:]:
        row = overdue.split(f'id="overdue-{person.id}"')[1].split("</tr>")[0]
        assert person.full_name in row and "Nguyễn Văn An" in row
        assert 'class="days-overdue">26<' in row and "never" in row
    assert network[0].full_name not in overdue and network[1].full_name not in overdue
    under = html.split('id="digest-under"')[1].split("</section>")[0]
    assert "Trần Thị Bình" in under and "Lê Văn Cường" in under and "Nguyễn Văn An" not in under
    not_held = html.split('id="digest-not-held"')[1].split("</section>")[0]
    assert "Hồ Văn Nghèo" in not_held and "23/11/2025" in not_held
    unconfirmed = html.split('id="digest-unconfirmed"')[1].split("</section>")[0]
    assert "Võ Thị Khuyết" in unconfirmed and "Kiều Thị Một" in unconfirmed
    assert "Đặng Văn Già" not in unconfirmed  # confirmed on their phone
    assert "css/digest.css" in html and 'class="digest-page"' in html


def test_the_digest_puts_the_most_overdue_first(app, mw, network):
    late = mw.villager("Cao Văn Muộn")
    services.assign(
        actor=mw.users["organiser"],
        now=NOW - timedelta(days=20),
        mentor=mw.mentors["binh"],
        person=late,
    )
    db.session.commit()
    found = overview.digest(mw.users["organiser"], now=NOW)
    assert [s.days_overdue for s in found.overdue] == [26, 26, 26, 6]
    assert found.overdue[-1].mentorship.person_id == late.id


def test_an_organiser_prints_one_villages_part(app, mw, network, actions, en, at_now):
    thon2 = mw.villager("Lò Văn Thôn Hai", village=mw.v2)
    give(mw, mw.mentors["cuong"], thon2)
    db.session.commit()
    actions.login("organiser")
    whole = actions.client.get("/mentoring/digest").get_data(as_text=True)
    assert "Lò Văn Thôn Hai" in whole and "Hồ Văn Nghèo" in whole
    part = actions.client.get(f"/mentoring/digest?village={mw.v2.id}").get_data(as_text=True)
    assert "Lò Văn Thôn Hai" in part and "Lê Văn Cường" in part
    assert not any(p.full_name in part for p in network) and "Trần Thị Bình" not in part
    actions.logout()
    actions.login("lead2")
    assert actions.client.get(f"/mentoring/digest?village={mw.v1.id}").status_code == 404


# --- the workbook ----------------------------------------------------------------------------


def book_text(response) -> str:
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    return "\n".join(
        " ".join("" if v is None else str(v) for v in row)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
    )


def test_the_workbook_numbers_equal_the_page(app, mw, network, actions, at_now):
    actions.login("organiser")
    html = actions.client.get("/mentoring").get_data(as_text=True)
    response = actions.client.get("/mentoring/export.xlsx")
    assert response.status_code == 200 and "spreadsheetml" in response.mimetype
    assert "attachment" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == ["Đại sứ số", "Người được hướng dẫn", "Buổi gặp"]
    mentors = list(book["Đại sứ số"].iter_rows(min_row=2, values_only=True))
    assert len(mentors) == int(total(html, "mentors"))
    by_name = {r[0]: r for r in mentors}
    for key in ("an", "binh", "cuong"):
        mentor = mw.mentors[key]
        row = row_of(html, mentor)
        _name, _org, _where, mentees, meetings, hours, overdue, under = by_name[
            mentor.person.full_name
        ]
        assert str(mentees) == cell(row, "mentees").split()[0]
        assert str(meetings) == cell(row, "meetings")
        assert f"{hours:g}".replace(".", ",") == cell(row, "hours")
        assert str(overdue) == cell(row, "overdue").split()[0]
        assert (under == "Có") == ("dưới mức tối thiểu" in row)
    assert sum(r[4] for r in mentors) == int(total(html, "meetings"))
    mentees = list(book["Người được hướng dẫn"].iter_rows(min_row=2, values_only=True))
    assert len(mentees) == int(total(html, "mentees"))
    assert sum(1 for r in mentees if r[6] > 0) == int(total(html, "overdue"))
    gia = next(r for r in mentees if r[0] == "Đặng Văn Già")
    assert gia[3] == "Nguyễn Văn An" and gia[6] == 0 and gia[7] == 1
    assert gia[5].date() == (NOW - timedelta(days=1)).date()
    ngheo = next(r for r in mentees if r[0] == "Hồ Văn Nghèo")
    assert ngheo[2] == "T1-050" and ngheo[5] is None and ngheo[6] == 26
    meetings = list(book["Buổi gặp"].iter_rows(min_row=2, values_only=True))
    held = [r for r in meetings if r[4] == "Có"]
    assert len(held) == int(total(html, "meetings")) and len(meetings) == 3  # + nobody home
    assert sum(r[3] for r in held) / 60 == 2.0
    assert sum(r[6] for r in meetings) == int(total(html, "confirmed"))
    assert any("Đặng Văn Già" in r[5] and "Võ Thị Khuyết" in r[5] for r in held)


# --- a fixed number of statements ------------------------------------------------------------


def _mentors_with_meetings(mw, count: int) -> None:
    for i in range(count):
        mentor = mw.mentor(f"Đại Sứ Số {i}")
        mentee = mw.villager(f"Người Kèm {i}", 1950)
        give(mw, mentor, mentee)
        meet(mw, mentor, [mentee], when=NOW - timedelta(days=1))
    db.session.commit()


@pytest.mark.parametrize("path", ["/mentoring", "/mentoring/digest", "/mentoring/export.xlsx"])
def test_a_fixed_number_of_statements(app, mw, actions, at_now, path):
    actions.login("organiser")
    counted = []
    for count in (2, 8):  # 2 more mentors than the fixture's three, then 10 more
        _mentors_with_meetings(mw, count)
        db.session.expire_all()
        with statements(app) as seen:
            assert actions.client.get(path).status_code == 200
        counted.append(len(seen))
    assert counted[0] == counted[1], counted
