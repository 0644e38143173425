"""The attendance exports are spreadsheets people print and sort: dates and times are real
date/time cells in Vietnam local time with Vietnamese formats, the grid names its class and
its sessions' full dates, columns fit long names, and each sheet prints on A4.

Times: NOW (tests/factories.py) is Tuesday 25/11/2025 10:00 in Vietnam (03:00 UTC).
"""

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest

from tests.factories import NOW, make_class, make_course, make_person, make_session, make_venue
from webapp import spreadsheet
from webapp.accounts.models import User
from webapp.checkin.models import Attendance, Method, OccasionKind, Status
from webapp.extensions import db
from webapp.people.models import Person, Village
from webapp.scheduling.models import Enrolment, EnrolmentStatus

LONG_NAME = "Tôn Nữ Thị Hoàng Phương Thảo Nguyên"  # 35 characters
LONG_VILLAGE = "Thôn Đăk Xú Kon Plông Tê Xăng"  # 29 characters
# 11/11/2025 10:00 and 15:00 in Vietnam: two sessions on one day.
MORNING = NOW - timedelta(days=14)
AFTERNOON = MORNING + timedelta(hours=5)
# 19/11/2025 23:30 UTC is 20/11/2025 06:30 in Vietnam: the date a learner lived.
DAWN = datetime(2025, 11, 19, 23, 30, tzinfo=UTC)
CANCELLED = NOW - timedelta(days=3)  # 22/11/2025 10:00
COMING = NOW + timedelta(days=5)  # 30/11/2025 10:00


@dataclass
class Sheets:
    class_id: int
    session_ids: list[int]  # morning, afternoon, dawn, cancelled, coming
    person_ids: list[int]  # An, the long name, the far village


def _attend(session, person, status, at, method=Method.ROSTER):
    db.session.add(
        Attendance(
            occasion_kind=OccasionKind.SESSION,
            occasion_id=session.id,
            person_id=person.id,
            status=status,
            method=method,
            recorded_at=at,
            updated_at=at,
        )
    )


@pytest.fixture
def sheets(app, world, clock) -> Sheets:
    """A class of three learners (one with a long name, one from a long-named village) and
    five sessions: two on one day, one at dawn, one cancelled, one coming."""
    clock.set(NOW)
    with app.app_context():
        v1 = db.session.get(Village, world.village_ids[0])
        far = Village(commune_id=world.commune_id, name=LONG_VILLAGE, position=3)
        db.session.add(far)
        db.session.flush()
        trainer = db.session.get(User, world.users["trainer"])
        course = make_course(world.commune_id, world.users["organiser"])
        venue = make_venue(world.commune_id, village_id=v1.id)
        course_class = make_class(course, [trainer], name="Lớp Zalo Thôn 1")
        sessions = [
            make_session(course_class, MORNING, venue=venue, topic="Zalo"),
            make_session(course_class, AFTERNOON, venue=venue, topic="Gọi video"),
            make_session(course_class, DAWN, hours=1.5, venue=venue, topic="VNeID"),
            make_session(course_class, CANCELLED, venue=venue),
            make_session(course_class, COMING, venue=venue),
        ]
        sessions[3].cancelled_at = NOW - timedelta(days=4)
        people = [
            make_person(v1, "Nguyễn Văn An", 1950),
            make_person(v1, LONG_NAME, 1962),
            make_person(far, "Y Blong", 1971),
        ]
        for person in people:
            db.session.add(
                Enrolment(
                    course_class=course_class,
                    person_id=person.id,
                    status=EnrolmentStatus.ENROLLED,
                    since=NOW - timedelta(days=20),
                )
            )
        morning, _, dawn, _, _ = sessions
        _attend(morning, people[0], Status.PRESENT, MORNING + timedelta(minutes=3), Method.CARD)
        # Written in from the paper sheet the next day: arrived "the next day" as recorded.
        _attend(morning, people[1], Status.LATE, MORNING + timedelta(days=1))
        _attend(morning, people[2], Status.ABSENT, MORNING)
        _attend(dawn, people[0], Status.PRESENT, DAWN + timedelta(minutes=10))
        db.session.commit()
        return Sheets(course_class.id, [s.id for s in sessions], [p.id for p in people])


def _book(actions, path: str) -> openpyxl.Workbook:
    actions.login("trainer")
    response = actions.client.get(path)
    assert response.status_code == 200, path
    return openpyxl.load_workbook(io.BytesIO(response.data))


def _header_row(sheet, first: str) -> int:
    return next(row[0].row for row in sheet.iter_rows() if row[0].value == first)


def _column(sheet, header_row: int, header: str) -> int:
    return next(c.column for c in sheet[header_row] if c.value == header)


def _assert_local_date_cell(cell, value, number_format: str):
    assert cell.is_date, (cell.coordinate, cell.value)
    assert isinstance(cell.value, datetime) and cell.value.tzinfo is None
    assert cell.value == value
    assert cell.number_format == number_format


# --- the register of a session ----------------------------------------------------------------


def test_register_dates_and_times_are_local_date_cells(actions, sheets):
    sheet = _book(actions, f"/sessions/{sheets.session_ids[0]}/register.xlsx").active
    about = {row[0].value: row[1] for row in sheet.iter_rows(max_row=9)}
    _assert_local_date_cell(about["Ngày"], datetime(2025, 11, 11), "dd/mm/yyyy")
    _assert_local_date_cell(about["Bắt đầu"], datetime(2025, 11, 11, 10, 0), "hh:mm")
    _assert_local_date_cell(about["Kết thúc"], datetime(2025, 11, 11, 12, 0), "hh:mm")
    header = _header_row(sheet, "STT")
    arrived = _column(sheet, header, "Giờ đến")
    by_name = {
        sheet.cell(r, 2).value: sheet.cell(r, arrived) for r in range(header + 1, header + 4)
    }
    _assert_local_date_cell(by_name["Nguyễn Văn An"], datetime(2025, 11, 11, 10, 3), "hh:mm")
    # Recorded on another day: the date is shown too.
    _assert_local_date_cell(by_name[LONG_NAME], datetime(2025, 11, 12, 10, 0), "dd/mm/yyyy hh:mm")
    assert by_name["Y Blong"].value is None  # absent: no arrival


def test_register_sorts_and_prints(actions, sheets):
    sheet = _book(actions, f"/sessions/{sheets.session_ids[0]}/register.xlsx").active
    header = _header_row(sheet, "STT")
    assert [c.value for c in sheet[header]] == [
        "STT",
        "Họ và tên",
        "Năm sinh",
        "Thôn",
        "Trạng thái",
        "Giờ đến",
        "Cách điểm danh",
        "Ký tên",
    ]
    assert all(c.font.b for c in sheet[header])
    assert sheet.freeze_panes == f"A{header + 1}"
    assert sheet.auto_filter.ref == f"A{header}:H{header + 3}"  # the learners, not the totals
    _assert_a4_landscape(sheet, header)
    assert sheet["A1"].value == "Sổ điểm danh: Lớp Zalo Thôn 1" and sheet["A1"].font.b
    _assert_fits(sheet, "B", LONG_NAME)
    _assert_fits(sheet, "D", LONG_VILLAGE)
    assert sheet.column_dimensions["H"].width >= 18  # room to sign by hand
    assert all(sheet.row_dimensions[r].height >= 20 for r in range(header + 1, header + 4))


# --- the grid of a class ----------------------------------------------------------------------


def test_grid_names_its_class_and_its_sessions_full_local_dates(actions, sheets):
    book = _book(actions, f"/classes/{sheets.class_id}/attendance.xlsx")
    sheet = book["Điểm danh"]
    assert sheet["A1"].value == "Điểm danh lớp: Lớp Zalo Thôn 1" and sheet["A1"].font.b
    assert sheet["A2"].value == "Khóa học: Kỹ năng số cho người cao tuổi"
    header = _header_row(sheet, "Họ và tên")
    cells = list(sheet[header])
    assert [c.value for c in cells[:3]] == ["Họ và tên", "Năm sinh", "Thôn"]
    assert [c.value for c in cells[-4:]] == ["Số buổi dự", "Số buổi đã học", "Số giờ", "Tỉ lệ"]
    days = cells[3:-4]
    # The class meets twice on 11/11: those two show their time as well.
    _assert_local_date_cell(days[0], datetime(2025, 11, 11, 10, 0), "dd/mm/yyyy hh:mm")
    _assert_local_date_cell(days[1], datetime(2025, 11, 11, 15, 0), "dd/mm/yyyy hh:mm")
    _assert_local_date_cell(days[2], datetime(2025, 11, 20, 6, 30), "dd/mm/yyyy")
    _assert_local_date_cell(days[3], datetime(2025, 11, 22, 10, 0), 'dd/mm/yyyy" (hủy)"')
    _assert_local_date_cell(days[4], datetime(2025, 11, 30, 10, 0), "dd/mm/yyyy")
    rows = {r[0].value: [c.value for c in r] for r in sheet.iter_rows(min_row=header + 1)}
    assert rows["Nguyễn Văn An"][:8] == ["Nguyễn Văn An", 1950, "Thôn 1", "✓", "–", "✓", None, None]
    assert rows["Y Blong"][1:3] == [1971, LONG_VILLAGE]


def test_grid_sorts_and_prints(actions, sheets):
    book = _book(actions, f"/classes/{sheets.class_id}/attendance.xlsx")
    sheet = book["Điểm danh"]
    header = _header_row(sheet, "Họ và tên")
    assert all(c.font.b for c in sheet[header])
    assert sheet.freeze_panes == f"B{header + 1}"  # names on the left, headers on top
    assert sheet.auto_filter.ref == f"A{header}:L{header + 3}"  # three learners, not totals
    assert sheet.cell(header + 4, 1).value == "Số người dự" and sheet.cell(header + 4, 1).font.b
    _assert_a4_landscape(sheet, header)
    _assert_fits(sheet, "A", LONG_NAME)
    _assert_fits(sheet, "C", LONG_VILLAGE)
    # A session's date stands upright over a narrow column of marks, its row tall enough.
    for letter in "DEFGH":
        assert sheet[f"{letter}{header}"].alignment.textRotation == 90
        assert sheet.column_dimensions[letter].width <= 6
    assert sheet.row_dimensions[header].height >= 6 * len("dd/mm/yyyy hh:mm")
    assert sheet.cell(header + 1, 12).number_format == "0%"


def test_grid_lists_the_sessions_with_date_and_time_cells(actions, sheets):
    sessions = _book(actions, f"/classes/{sheets.class_id}/attendance.xlsx")["Buổi học"]
    assert [c.value for c in sessions[1]] == [
        "STT",
        "Ngày",
        "Bắt đầu",
        "Kết thúc",
        "Số giờ",
        "Chủ đề",
        "Ghi chú",
    ]
    dawn = sessions[4]
    _assert_local_date_cell(dawn[1], datetime(2025, 11, 20), "dd/mm/yyyy")
    _assert_local_date_cell(dawn[2], datetime(2025, 11, 20, 6, 30), "hh:mm")
    _assert_local_date_cell(dawn[3], datetime(2025, 11, 20, 8, 0), "hh:mm")
    assert (dawn[4].value, dawn[5].value) == (1.5, "VNeID")
    assert [sessions.cell(r, 7).value for r in (5, 6)] == ["Đã hủy", "Chưa diễn ra"]
    _assert_a4_landscape(sessions, 1)


def test_an_empty_class_still_prints(actions, app, sheets, world):
    with app.app_context():
        trainer = db.session.get(User, world.users["trainer"])
        course = make_course(world.commune_id, world.users["organiser"])
        empty_id = make_class(course, [trainer], name="Lớp mới").id
        db.session.commit()
    sheet = _book(actions, f"/classes/{empty_id}/attendance.xlsx").active
    header = _header_row(sheet, "Họ và tên")
    assert [c.value for c in sheet[header]][-4:] == GRID_TOTALS
    _assert_a4_landscape(sheet, header)


GRID_TOTALS = ["Số buổi dự", "Số buổi đã học", "Số giờ", "Tỉ lệ"]


# --- helpers ----------------------------------------------------------------------------------


def _assert_a4_landscape(sheet, header_row: int) -> None:
    setup = sheet.page_setup
    assert setup.orientation == "landscape"
    assert str(setup.paperSize) == str(sheet.PAPERSIZE_A4)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
    assert (setup.fitToWidth, setup.fitToHeight) == (1, 0)  # one page wide, as long as needed
    assert sheet.print_title_rows == f"${header_row}:${header_row}"  # repeated on each page


def _assert_fits(sheet, letter: str, text: str) -> None:
    width = sheet.column_dimensions[letter].width
    assert len(text) <= width <= spreadsheet.MAX_WIDTH, (letter, width)


def test_a_name_longer_than_a_column_wraps_in_a_capped_column(actions, app, sheets):
    with app.app_context():
        db.session.get(Person, sheets.person_ids[0]).full_name = "Nguyễn " * 15 + "Văn"  # 108
        db.session.commit()
    sheet = _book(actions, f"/classes/{sheets.class_id}/attendance.xlsx").active
    assert sheet.column_dimensions["A"].width == spreadsheet.MAX_WIDTH
    long = next(c for c in sheet["A"] if isinstance(c.value, str) and len(c.value) > 100)
    assert long.alignment.wrap_text
