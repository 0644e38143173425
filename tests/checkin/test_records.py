"""Attendance records: the rule (attended, hours, rate), the session register, the class grid,
a person's record, and the Excel exports; on SQLite and PostgreSQL.

Times: NOW (tests/factories.py) is Tuesday 25/11/2025 10:00 in Vietnam (03:00 UTC).
"""

import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import openpyxl
import pytest

from tests.factories import NOW, make_class, make_course, make_person, make_session, make_venue
from tests.sql import statements
from webapp.accounts.models import User
from webapp.checkin import records
from webapp.checkin.models import Attendance, Method, OccasionKind, Status
from webapp.extensions import db
from webapp.people.models import Person, Village
from webapp.scheduling.models import ClassSession, CourseClass, Enrolment, EnrolmentStatus

# --- the rule, without a database ----------------------------------------------------------


def _session(sid: int, days: float, hours: float = 2, cancelled: bool = False) -> ClassSession:
    start = NOW + timedelta(days=days)
    return ClassSession(
        id=sid,
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        cancelled_at=NOW - timedelta(days=30) if cancelled else None,
    )


def test_late_counts_as_attended_and_hours_are_the_sessions_lengths():
    sessions = [_session(1, -7, 2), _session(2, -3, 1.5), _session(3, -1, 2)]
    got = records.tally(sessions, {1: "present", 2: "late", 3: "absent"}, NOW)
    assert (got.attended, got.held, got.hours) == (2, 3, 3.5)
    assert got.rate == pytest.approx(2 / 3)


def test_cancelled_and_coming_sessions_are_not_counted_even_with_a_record():
    sessions = [
        _session(1, -7),
        _session(2, -5, cancelled=True),  # cancelled after people had checked in
        _session(3, 2),  # coming
        _session(4, 0, hours=2),  # starts right now: held
    ]
    statuses = {1: "present", 2: "present", 3: "present", 4: "excused"}
    got = records.tally(sessions, statuses, NOW)
    assert (got.attended, got.held, got.hours) == (1, 2, 2)
    assert got.rate == 0.5


def test_session_about_to_start_is_not_held_yet():
    early = _session(1, 0)
    assert records.is_held(early, NOW) and not records.is_held(early, NOW - timedelta(minutes=1))


def test_no_session_held_gives_no_rate_and_tallies_add_up():
    assert records.tally([_session(1, 3)], {}, NOW).rate is None
    total = records.Tally(1, 2, 2.0) + records.Tally(3, 4, 5.5)
    assert (total.attended, total.held, total.hours, total.rate) == (4, 6, 7.5, 4 / 6)


# --- a class with history ------------------------------------------------------------------


@dataclass
class Book:
    class_id: int
    other_class_id: int
    session_ids: list[int]  # past, cancelled, recent (1.5 h), coming
    other_session_id: int
    people: dict[str, int]


def _record(session_id: int, person_id: int, status: str, at: datetime, method=Method.ROSTER):
    db.session.add(
        Attendance(
            occasion_kind=OccasionKind.SESSION,
            occasion_id=session_id,
            person_id=person_id,
            status=status,
            method=method,
            recorded_at=at,
            updated_at=at,
        )
    )


@pytest.fixture
def book(app, world, client, clock) -> Book:
    """Four sessions (two held, one cancelled, one coming) and four learners, one withdrawn;
    the app's clock at NOW."""
    client.set_cookie("lang", "en")
    clock.set(NOW)
    with app.app_context():
        v1, v2 = (db.session.get(Village, i) for i in world.village_ids)
        trainer = db.session.get(User, world.users["trainer"])
        course = make_course(world.commune_id, world.users["organiser"])
        venue = make_venue(world.commune_id, "Nhà văn hóa Thôn 1", village_id=v1.id)
        course_class = make_class(course, [trainer], name="Lớp Zalo Thôn 1")
        past = make_session(course_class, NOW - timedelta(days=14), venue=venue, topic="Zalo")
        cancelled = make_session(course_class, NOW - timedelta(days=7), venue=venue)
        cancelled.cancelled_at = NOW - timedelta(days=8)
        recent = make_session(course_class, NOW - timedelta(days=2), hours=1.5, venue=venue)
        coming = make_session(course_class, NOW + timedelta(days=5), venue=venue)
        # Vietnamese order is by given name: An, Ánh, Bích, Dũng (not by family name).
        people = {
            "bich": make_person(v1, "Trần Thị Bích", 1955),
            "an": make_person(v1, "Nguyễn Văn An", 1950),
            "anh": make_person(v2, "Lê Thị Ánh", 1960),
            "dung": make_person(v2, "Phạm Văn Dũng", 1958),  # withdrew after the first session
            "waiting": make_person(v2, "Võ Thị Chờ", 1961),
        }
        status_of = {"dung": EnrolmentStatus.WITHDRAWN, "waiting": EnrolmentStatus.WAITING}
        for key, person in people.items():
            db.session.add(
                Enrolment(
                    course_class=course_class,
                    person_id=person.id,
                    status=status_of.get(key, EnrolmentStatus.ENROLLED),
                    since=NOW - timedelta(days=20),
                )
            )
        at = past.starts_at + timedelta(minutes=3)  # 08:03 in Vietnam
        _record(past.id, people["an"].id, Status.PRESENT, at, Method.SELF_SCAN)
        _record(past.id, people["bich"].id, Status.ABSENT, at)
        _record(past.id, people["anh"].id, Status.EXCUSED, at)
        _record(past.id, people["dung"].id, Status.PRESENT, at, Method.CARD)
        _record(cancelled.id, people["an"].id, Status.PRESENT, cancelled.starts_at)
        late = recent.starts_at + timedelta(minutes=20)
        _record(recent.id, people["an"].id, Status.LATE, late, Method.CODE)
        _record(recent.id, people["bich"].id, Status.PRESENT, recent.starts_at)
        _record(coming.id, people["an"].id, Status.PRESENT, NOW)  # recorded early: not counted
        # The same course taught in another commune.
        other_course = make_course(world.other_commune_id, world.users["other_organiser"])
        other_class = make_class(other_course, [], name="Lớp xã khác")
        other_session = make_session(other_class, NOW - timedelta(days=1))
        db.session.commit()
        return Book(
            course_class.id,
            other_class.id,
            [past.id, cancelled.id, recent.id, coming.id],
            other_session.id,
            {k: p.id for k, p in people.items()},
        )


def _grid(app, book) -> records.ClassGrid:
    course_class = db.session.get(CourseClass, book.class_id)
    return records.class_grid(course_class, now=NOW)


def test_class_grid_rows_in_vietnamese_order_with_the_rule(app, book):
    with app.app_context():
        grid = _grid(app, book)
        names = [row.person.full_name for row in grid.rows]
        assert names == ["Nguyễn Văn An", "Lê Thị Ánh", "Trần Thị Bích", "Phạm Văn Dũng"]
        an, anh, bich, dung = grid.rows
        assert [c.mark for c in an.cells] == ["✓", "✓", "M", "✓"]
        assert [c.mark for c in anh.cells] == ["P", "", "–", ""]
        assert (an.tally.attended, an.tally.held, an.tally.hours, an.tally.rate) == (2, 2, 3.5, 1)
        assert (bich.tally.attended, bich.tally.hours, bich.tally.rate) == (1, 1.5, 0.5)
        assert (anh.tally.attended, anh.tally.rate) == (0, 0)
        assert (dung.enrolled, dung.tally.attended, dung.tally.held) == (False, 1, 2)
        assert [c.held for c in grid.columns] == [True, False, True, False]
        assert [c.attended for c in grid.columns] == [2, 0, 2, 0]
        assert grid.columns[2].counts[None] == 2  # Ánh and Dũng: nothing recorded
        assert (grid.total.attended, grid.total.held, grid.total.hours) == (4, 8, 7)


def test_person_record_lists_each_class_with_its_sessions(app, book):
    with app.app_context():
        person = db.session.get(Person, book.people["an"])
        got = records.person_record(person, now=NOW)
        [item] = got.classes
        assert item.course_class.id == book.class_id
        assert item.enrolment_status == EnrolmentStatus.ENROLLED
        assert [(rec.status if rec else None, held) for _, rec, held in item.sessions] == [
            ("present", True),
            ("present", False),
            ("late", True),
            ("present", False),
        ]
        assert (got.total.attended, got.total.held, got.total.hours) == (2, 2, 3.5)
        waiting = db.session.get(Person, book.people["waiting"])
        assert records.person_record(waiting, now=NOW).classes == []


def test_a_class_without_sessions_yet_is_listed_first(app, book):
    with app.app_context():
        course_class = db.session.get(CourseClass, book.class_id)
        new = make_class(course_class.course, course_class.trainers, name="Lớp mới")
        db.session.add(
            Enrolment(
                course_class=new,
                person_id=book.people["an"],
                status=EnrolmentStatus.ENROLLED,
                since=NOW,
            )
        )
        db.session.commit()
        got = records.person_record(db.session.get(Person, book.people["an"]), now=NOW)
        assert [(c.course_class.name, len(c.sessions)) for c in got.classes] == [
            ("Lớp mới", 0),
            ("Lớp Zalo Thôn 1", 4),
        ]
        assert got.classes[0].tally.rate is None and got.total.held == 2


# --- pages ---------------------------------------------------------------------------------


def test_register_shows_each_learners_status_time_and_method(actions, app, book):
    actions.login("trainer")
    response = actions.client.get(f"/sessions/{book.session_ids[0]}/register")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    rows = html.split("<tbody>")[1].split("</tbody>")[0].split("<tr")[1:]
    assert [re.search(r'class="person-name">([^<]+)<', r).group(1) for r in rows] == [
        "Nguyễn Văn An",
        "Lê Thị Ánh",
        "Trần Thị Bích",
        "Phạm Văn Dũng",
    ]
    assert "Present" in rows[0] and "10:03" in rows[0] and "own phone" in rows[0]
    assert '<span class="person-meta">1950 · Thôn 1</span>' in rows[0]  # two of a name differ
    assert "Excused" in rows[1] and "Absent" in rows[2]
    assert "withdrawn" in rows[3] and "learner card" in rows[3]
    assert "Võ Thị Chờ" not in html  # on the waiting list
    assert "Lớp Zalo Thôn 1" in html and "Nhà văn hóa Thôn 1" in html and "Trainer" in html
    assert "Signature" in html and "UBND xã Ngọk Bay" in html
    with app.app_context():  # learner codes are credentials: only on cards and the sheet
        codes = {p.full_name: p.learner_code for p in db.session.query(Person)}
    assert "Learner code" not in html
    assert all(code not in html for code in codes.values() if code)


def test_register_of_a_recent_session_counts_not_recorded(actions, book):
    actions.login("organiser")
    html = actions.client.get(f"/sessions/{book.session_ids[2]}/register").get_data(as_text=True)
    totals = html.split('class="att-totals"')[1].split("</ul>")[0]
    # present, late, absent, excused, not recorded, learners (Dũng withdrew before it)
    assert [t.split("<strong>")[1].split("<")[0] for t in totals.split("<li>")[1:]] == [
        "1",
        "1",
        "0",
        "0",
        "1",
        "3",
    ]
    assert "not recorded" in html and "10:20" in html and "Phạm Văn Dũng" not in html


def test_class_grid_page(actions, book):
    actions.login("trainer")
    response = actions.client.get(f"/classes/{book.class_id}/attendance")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.index("Nguyễn Văn An") < html.index("Lê Thị Ánh") < html.index("Trần Thị Bích")
    assert "11/11" in html and "18/11" in html and "23/11" in html and "30/11" in html
    assert "cancelled" in html and "coming" in html
    assert '<span class="visually-hidden">Late</span>' in html  # text for screen readers
    assert f'href="/sessions/{book.session_ids[0]}/register"' in html
    assert f'href="/people/{book.people["an"]}/attendance"' in html
    assert "2/2" in html and "100%" in html and "50%" in html and "4/8" in html
    assert 'class="att-scroll"' in html  # the wide table scrolls inside its own box


@pytest.mark.parametrize("role", ["organiser", "trainer", "lead", "admin"])
def test_every_staff_role_of_the_commune_reads_the_records(actions, book, role):
    """Each in their scope (tests/test_scope.py); not mentors, who are volunteers."""
    actions.login(role)
    for path in (
        f"/sessions/{book.session_ids[0]}/register",
        f"/sessions/{book.session_ids[0]}/register.xlsx",
        f"/classes/{book.class_id}/attendance",
        f"/classes/{book.class_id}/attendance.xlsx",
        f"/people/{book.people['an']}/attendance",
    ):
        assert actions.client.get(path).status_code == 200, (role, path)


def test_another_communes_records_are_not_found(actions, book):
    actions.login("organiser")
    for path in (
        f"/sessions/{book.other_session_id}/register",
        f"/sessions/{book.other_session_id}/register.xlsx",
        f"/classes/{book.other_class_id}/attendance",
        f"/classes/{book.other_class_id}/attendance.xlsx",
        "/sessions/999999/register",
        "/classes/99999999999/attendance",
        "/people/999999/attendance",
    ):
        assert actions.client.get(path).status_code == 404, path
    actions.logout()
    actions.login("other_organiser")
    assert actions.client.get(f"/people/{book.people['an']}/attendance").status_code == 404
    assert actions.client.get(f"/classes/{book.other_class_id}/attendance").status_code == 200


def test_village_lead_sees_only_their_villages_people(actions, book):
    actions.login("lead")  # lead of Thôn 1: An and Bích live there, Ánh in Thôn 2
    assert actions.client.get(f"/people/{book.people['an']}/attendance").status_code == 200
    assert actions.client.get(f"/people/{book.people['anh']}/attendance").status_code == 404
    html = actions.client.get(f"/classes/{book.class_id}/attendance").get_data(as_text=True)
    assert f'/people/{book.people["an"]}/attendance"' in html
    assert f'/people/{book.people["anh"]}/attendance"' not in html and "Lê Thị Ánh" not in html


def test_person_page_lists_sessions_with_status(actions, book):
    actions.login("trainer")
    html = actions.client.get(f"/people/{book.people['bich']}/attendance").get_data(as_text=True)
    assert "Lớp Zalo Thôn 1" in html and "1 of 2 held" in html and "50%" in html
    assert "Absent" in html and "Present" in html and "Cancelled" in html and "coming" in html
    assert "1.5 hours" in html
    html = actions.client.get(f"/people/{book.people['waiting']}/attendance").get_data(as_text=True)
    assert "has not been enrolled in any class" in html


def test_a_class_without_sessions_or_learners_still_renders(actions, app, book):
    with app.app_context():
        course_class = db.session.get(CourseClass, book.class_id)
        empty = make_class(course_class.course, course_class.trainers, name="Lớp mới")
        db.session.commit()
        empty_id = empty.id
    actions.login("trainer")
    html = actions.client.get(f"/classes/{empty_id}/attendance").get_data(as_text=True)
    assert "No session planned yet." in html
    book_ = openpyxl.load_workbook(
        io.BytesIO(actions.client.get(f"/classes/{empty_id}/attendance.xlsx").data)
    )
    sheet = book_.active
    header = next(row for row in sheet.iter_rows(values_only=True) if row[0] == "Họ và tên")
    assert list(header) == [
        "Họ và tên",
        "Năm sinh",
        "Thôn",
        "Số buổi dự",
        "Số buổi đã học",
        "Số giờ",
        "Tỉ lệ",
    ]


# --- Excel ---------------------------------------------------------------------------------


def test_class_grid_xlsx_opens_with_the_right_values(actions, book):
    actions.login("trainer")
    response = actions.client.get(f"/classes/{book.class_id}/attendance.xlsx")
    assert response.status_code == 200
    assert response.mimetype == records.XLSX_MIMETYPE
    disposition = response.headers["Content-Disposition"]
    assert disposition == f"attachment; filename=diem-danh-lop-{book.class_id}-lop-zalo-thon-1.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(response.data))["Điểm danh"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][0] == "Điểm danh lớp: Lớp Zalo Thôn 1"
    # Each session headed by its date, a date cell in local time (details:
    # tests/checkin/test_export_sheets.py).
    assert rows[3] == [
        "Họ và tên",
        "Năm sinh",
        "Thôn",
        datetime(2025, 11, 11, 10, 0),
        datetime(2025, 11, 18, 10, 0),
        datetime(2025, 11, 23, 10, 0),
        datetime(2025, 11, 30, 10, 0),
        "Số buổi dự",
        "Số buổi đã học",
        "Số giờ",
        "Tỉ lệ",
    ]
    assert sheet.cell(4, 5).number_format == 'dd/mm/yyyy" (hủy)"'
    an = ["Nguyễn Văn An", 1950, "Thôn 1", "✓", "✓", "M", "✓", 2, 2, 3.5, 1]
    assert rows[4] == an  # no learner code: it is a credential
    assert rows[6][0] == "Trần Thị Bích" and rows[6][7:] == [1, 2, 1.5, 0.5]
    assert rows[5][3:7] == ["P", None, "–", None]  # Ánh
    assert rows[8][0] == "Số người dự" and rows[8][3:] == [2, None, 2, None, 4, 8, 7, 0.5]
    assert sheet.freeze_panes == "B5"
    assert sheet.cell(5, 11).number_format == "0%" and sheet.cell(5, 10).number_format == "0.0"
    assert "Ký hiệu" in sheet.parent.sheetnames


def test_register_xlsx_opens_with_the_right_values(actions, book, app):
    actions.login("trainer")
    response = actions.client.get(f"/sessions/{book.session_ids[2]}/register.xlsx")
    assert response.status_code == 200
    assert "diem-danh-2025-11-23" in response.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["Sổ điểm danh: Lớp Zalo Thôn 1"] + [None] * 7
    about = {row[0]: row[1] for row in rows[1:8]}
    assert about["Ngày"] == datetime(2025, 11, 23)  # date and time cells, in local time
    assert (about["Bắt đầu"], about["Kết thúc"]) == (
        datetime(2025, 11, 23, 10, 0),
        datetime(2025, 11, 23, 11, 30),
    )
    header = rows.index(
        [
            "STT",
            "Họ và tên",
            "Năm sinh",
            "Thôn",
            "Trạng thái",
            "Giờ đến",
            "Cách điểm danh",
            "Ký tên",
        ]
    )
    assert rows[header + 1] == [
        1,
        "Nguyễn Văn An",
        1950,
        "Thôn 1",
        "Đi muộn",
        datetime(2025, 11, 23, 10, 20),
        "Mã học viên",
        None,
    ]
    assert sheet.cell(header + 2, 6).number_format == "hh:mm"
    assert rows[header + 2][4:7] == ["Chưa ghi", None, None]
    assert rows[header + 3][4:6] == ["Có mặt", datetime(2025, 11, 23, 10, 0)]
    assert sheet.freeze_panes == f"A{header + 2}"
    assert rows[header + 4] == [None] * 8
    totals = {r[1]: r[2] for r in rows[header + 5 :]}
    assert totals == {"Có mặt": 1, "Đi muộn": 1, "Vắng": 0, "Vắng có phép": 0, "Chưa ghi": 1}


def test_a_name_that_looks_like_a_formula_stays_text(actions, book, app):
    with app.app_context():
        person = db.session.get(Person, book.people["an"])
        person.full_name = formula = '=HYPERLINK("http://evil.example","Bấm vào đây")'
        db.session.commit()
    actions.login("trainer")
    response = actions.client.get(f"/classes/{book.class_id}/attendance.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    cells = [c for row in sheet.iter_rows() for c in row if c.value == formula]
    assert cells and all(c.data_type == "s" for c in cells)


# --- a fixed number of queries -------------------------------------------------------------


def _count(app, client, path) -> int:
    with statements(app) as seen:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(seen)


def _grow(app, book, learners: int, sessions: int) -> None:
    """More learners and sessions, each learner (and An) with a record at each session."""
    with app.app_context():
        course_class = db.session.get(CourseClass, book.class_id)
        village = db.session.get(Person, book.people["an"]).village
        added = [make_session(course_class, NOW - timedelta(days=30 + i)) for i in range(sessions)]
        for session in added:
            _record(session.id, book.people["an"], Status.LATE, session.starts_at)
        for i in range(learners):
            person = make_person(village, f"Đỗ Văn Số{i:02d}", 1950 + i)
            db.session.add(
                Enrolment(
                    course_class=course_class,
                    person_id=person.id,
                    status=EnrolmentStatus.ENROLLED,
                    since=NOW,
                )
            )
            for session in added:
                _record(session.id, person.id, Status.PRESENT, session.starts_at)
        db.session.commit()


@pytest.mark.parametrize(
    "path",
    [
        "/classes/{class_id}/attendance",
        "/classes/{class_id}/attendance.xlsx",
        "/sessions/{session_id}/register",
        "/people/{person_id}/attendance",
    ],
)
def test_queries_do_not_grow_with_the_class(actions, app, book, path):
    path = path.format(
        class_id=book.class_id, session_id=book.session_ids[0], person_id=book.people["an"]
    )
    actions.login("trainer")
    actions.client.get(path)  # learner codes given once
    small = _count(app, actions.client, path)
    _grow(app, book, learners=12, sessions=6)
    actions.client.get(path)
    big = _count(app, actions.client, path)
    assert big <= small, (small, big)


def test_times_are_shown_in_vietnam_time(actions, book):
    actions.login("trainer")
    html = actions.client.get(f"/sessions/{book.session_ids[0]}/register").get_data(as_text=True)
    assert "11/11/2025" in html and "10:00–12:00" in html  # 03:00–05:00 UTC
