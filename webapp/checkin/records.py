"""Attendance records: the register of one session, the grid of a class, one person's record,
and their Excel exports.

Reads only: functions take domain objects and ``now`` and return plain data. The rule of
attendance rates (what counts as held, what counts as attended) lives in :func:`tally` and
:func:`is_held`; every page and spreadsheet goes through them.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import openpyxl
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import joinedload

from webapp.accounts.models import User
from webapp.checkin.models import ATTENDED, Attendance, Method, OccasionKind, Status
from webapp.extensions import db
from webapp.people.models import Person
from webapp.people.queries import scope_people
from webapp.scheduling.models import (
    ClassSession,
    CourseClass,
    Enrolment,
    EnrolmentStatus,
)
from webapp.spreadsheet import (
    BOLD,
    DATE,
    DATETIME,
    TIME,
    UPRIGHT,
    Styled,
    append,
    format_table,
    heading,
    to_bytes,
)
from webapp.timeutil import to_local

#: Short marks of the class grid (a legend and screen-reader text go with them on the page).
MARKS = {Status.PRESENT: "✓", Status.LATE: "M", Status.ABSENT: "V", Status.EXCUSED: "P"}
NOT_RECORDED_MARK = "–"

#: The spreadsheets' words, in Vietnamese whatever the page language (like the import
#: template): a status, and how it was recorded.
VI_WORDS = {
    Status.PRESENT: "Có mặt",
    Status.LATE: "Đi muộn",
    Status.ABSENT: "Vắng",
    Status.EXCUSED: "Vắng có phép",
    Method.SELF_SCAN: "Tự quét mã",
    Method.ROSTER: "Danh sách",
    Method.CARD: "Thẻ học viên",
    Method.CODE: "Mã học viên",
    Method.PAPER: "Sổ giấy",
}
VI_NOT_RECORDED = "Chưa ghi"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- the rule ------------------------------------------------------------------------------


def is_held(session: ClassSession, now: datetime) -> bool:
    """A session counts once it has started, unless it was cancelled."""
    return not session.is_cancelled and session.starts_at <= now


@dataclass(frozen=True)
class Tally:
    """Sessions attended (present or late) out of sessions held so far, and hours attended."""

    attended: int = 0
    held: int = 0
    hours: float = 0.0

    @property
    def rate(self) -> float | None:
        """Attended / held (0…1); None before any session was held."""
        return self.attended / self.held if self.held else None

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(
            self.attended + other.attended, self.held + other.held, self.hours + other.hours
        )


def tally(sessions: Iterable[ClassSession], statuses: Mapping[int, str], now: datetime) -> Tally:
    """THE attendance rule, for one person: ``statuses`` maps session ids to their status.

    Only sessions held so far count (cancelled and coming ones do not, even when someone
    checked in early); late counts as attended; hours are the held sessions' lengths.
    """
    held = [s for s in sessions if is_held(s, now)]
    attended = [s for s in held if statuses.get(s.id) in ATTENDED]
    return Tally(len(attended), len(held), sum(s.hours for s in attended))


# --- queries -------------------------------------------------------------------------------


def _session_records(session_ids) -> Select:
    return select(Attendance).where(
        Attendance.occasion_kind == OccasionKind.SESSION, Attendance.occasion_id.in_(session_ids)
    )


def _learners(class_id: int, recorded_ids, viewer: User | None) -> list[tuple[Person, str | None]]:
    """The class's enrolled learners, and anyone with a record among ``recorded_ids`` sessions
    (withdrawn since), in Vietnamese name order, with their enrolment status; only those the
    ``viewer`` may see (a village lead: their village's), everyone for None."""
    recorded = _session_records(recorded_ids).with_only_columns(Attendance.person_id)
    stmt = (
        select(Person, Enrolment.status)
        .outerjoin(
            Enrolment, and_(Enrolment.person_id == Person.id, Enrolment.class_id == class_id)
        )
        .where(or_(Enrolment.status == EnrolmentStatus.ENROLLED, Person.id.in_(recorded)))
        .options(joinedload(Person.village))
        .order_by(Person.sort_key, Person.id)
    )
    if viewer is not None:
        stmt = scope_people(stmt, viewer)
    return [(person, status) for person, status in db.session.execute(stmt)]


def session_learners(session: ClassSession, viewer: User | None = None) -> list[Person]:
    """Who is on a session's register (for ``viewer``: see :func:`_learners`)."""
    return [person for person, _ in _learners(session.class_id, [session.id], viewer)]


def class_learners(course_class: CourseClass, viewer: User | None = None) -> list[Person]:
    """Who is on a class's grid (for ``viewer``: see :func:`_learners`)."""
    session_ids = select(ClassSession.id).where(ClassSession.class_id == course_class.id)
    return [person for person, _ in _learners(course_class.id, session_ids, viewer)]


# --- one session: the register -------------------------------------------------------------


@dataclass
class RegisterLine:
    person: Person
    record: Attendance | None
    enrolled: bool

    @property
    def status(self) -> str | None:
        return self.record.status if self.record else None

    @property
    def arrived_at(self) -> datetime | None:
        """When the person arrived; only for those who came."""
        return self.record.recorded_at if self.record and self.record.attended else None


@dataclass
class Register:
    session: ClassSession
    lines: list[RegisterLine]
    #: Count per status; None counts the people with nothing recorded.
    totals: Counter

    @property
    def attended(self) -> int:
        return sum(self.totals[s] for s in ATTENDED)


def session_register(session: ClassSession, viewer: User | None = None) -> Register:
    """Every learner of the session (enrolled, or recorded there) with their record; only
    those the ``viewer`` may see, and the totals of those."""
    records = {r.person_id: r for r in db.session.scalars(_session_records([session.id]))}
    lines = [
        RegisterLine(person, records.get(person.id), status == EnrolmentStatus.ENROLLED)
        for person, status in _learners(session.class_id, [session.id], viewer)
    ]
    return Register(session, lines, Counter(line.status for line in lines))


# --- one class: the grid -------------------------------------------------------------------


@dataclass
class Column:
    """A session of the grid, with its per-session totals."""

    session: ClassSession
    held: bool
    counts: Counter = field(default_factory=Counter)

    @property
    def day(self) -> str:
        return to_local(self.session.starts_at).strftime("%d/%m")

    @property
    def attended(self) -> int:
        return sum(self.counts[s] for s in ATTENDED)


@dataclass
class Cell:
    column: Column
    record: Attendance | None

    @property
    def status(self) -> str | None:
        return self.record.status if self.record else None

    @property
    def mark(self) -> str:
        """The short mark; blank for a session that is not counted and has no record."""
        if self.record is not None:
            return MARKS.get(self.record.status, "?")
        return NOT_RECORDED_MARK if self.column.held else ""


@dataclass
class Row:
    person: Person
    enrolled: bool
    cells: list[Cell]
    tally: Tally


@dataclass
class ClassGrid:
    course_class: CourseClass
    columns: list[Column]
    rows: list[Row]

    @property
    def total(self) -> Tally:
        return sum((row.tally for row in self.rows), Tally())

    @property
    def held(self) -> int:
        return sum(1 for c in self.columns if c.held)


def class_grid(
    course_class: CourseClass, *, now: datetime, viewer: User | None = None
) -> ClassGrid:
    """Learners × sessions of a class, in three queries whatever the size of the class; only
    the learners the ``viewer`` may see, and the per-session totals of those."""
    sessions = list(
        db.session.scalars(
            select(ClassSession)
            .where(ClassSession.class_id == course_class.id)
            .order_by(ClassSession.starts_at, ClassSession.id)
        )
    )
    session_ids = select(ClassSession.id).where(ClassSession.class_id == course_class.id)
    records = {
        (r.occasion_id, r.person_id): r for r in db.session.scalars(_session_records(session_ids))
    }
    columns = [Column(s, is_held(s, now)) for s in sessions]
    rows = []
    for person, status in _learners(course_class.id, session_ids, viewer):
        cells = [Cell(c, records.get((c.session.id, person.id))) for c in columns]
        for cell in cells:
            if cell.column.held:
                cell.column.counts[cell.status] += 1
        statuses = {c.column.session.id: c.status for c in cells if c.record is not None}
        rows.append(
            Row(person, status == EnrolmentStatus.ENROLLED, cells, tally(sessions, statuses, now))
        )
    return ClassGrid(course_class, columns, rows)


# --- one person ----------------------------------------------------------------------------


@dataclass
class PersonClass:
    """One class of the person: each session with the person's record, and the tally."""

    course_class: CourseClass
    enrolment_status: str | None
    sessions: list[tuple[ClassSession, Attendance | None, bool]]  # (session, record, held)
    tally: Tally


@dataclass
class PersonRecord:
    person: Person
    classes: list[PersonClass]

    @property
    def total(self) -> Tally:
        return sum((c.tally for c in self.classes), Tally())


def person_record(person: Person, *, now: datetime) -> PersonRecord:
    """Every class the person is or was enrolled in (or has attendance in), latest first."""
    records = {
        r.occasion_id: r
        for r in db.session.scalars(
            select(Attendance).where(
                Attendance.occasion_kind == OccasionKind.SESSION, Attendance.person_id == person.id
            )
        )
    }
    enrolments = {
        e.class_id: e.status
        for e in db.session.scalars(select(Enrolment).where(Enrolment.person_id == person.id))
    }
    enrolled = [cid for cid, status in enrolments.items() if status != EnrolmentStatus.WAITING]
    recorded = (
        select(ClassSession.class_id)
        .join(Attendance, Attendance.occasion_id == ClassSession.id)
        .where(Attendance.occasion_kind == OccasionKind.SESSION, Attendance.person_id == person.id)
    )
    classes = db.session.scalars(
        select(CourseClass)
        .where(or_(CourseClass.id.in_(enrolled), CourseClass.id.in_(recorded)))
        .options(joinedload(CourseClass.course))
    ).all()
    by_class: dict[int, list[ClassSession]] = {c.id: [] for c in classes}
    for session in db.session.scalars(
        select(ClassSession)
        .where(ClassSession.class_id.in_(list(by_class)))
        .order_by(ClassSession.starts_at, ClassSession.id)
    ):
        by_class[session.class_id].append(session)
    items = []
    for course_class in classes:
        sessions = by_class[course_class.id]
        statuses = {s.id: records[s.id].status for s in sessions if s.id in records}
        items.append(
            PersonClass(
                course_class,
                enrolments.get(course_class.id),
                [(s, records.get(s.id), is_held(s, now)) for s in sessions],
                tally(sessions, statuses, now),
            )
        )
    items.sort(
        key=lambda c: c.sessions[0][0].starts_at if c.sessions else _NOT_STARTED, reverse=True
    )
    return PersonRecord(person, items)


_NOT_STARTED = datetime.max.replace(tzinfo=UTC)  # classes without sessions yet come first


# --- Excel ---------------------------------------------------------------------------------
#
# Dates and times are date/time cells in Vietnam local time (see webapp/spreadsheet.py), so
# the columns sort and Excel prints them as dd/mm/yyyy and hh:mm; every table is finished by
# spreadsheet.format_table (bold header, frozen panes, widths from the content, A4 landscape).


def _arrival(line: RegisterLine, session: ClassSession) -> Styled | None:
    """When the person arrived: the time of day, with the date when it is not the session's."""
    if line.arrived_at is None:
        return None
    same_day = to_local(line.arrived_at).date() == to_local(session.starts_at).date()
    return Styled(line.arrived_at, TIME if same_day else DATETIME)


REGISTER_HEADERS = [
    "STT",
    "Họ và tên",
    "Năm sinh",
    "Thôn",
    "Trạng thái",
    "Giờ đến",
    "Cách điểm danh",
    "Ký tên",
]
SIGNATURE_WIDTH, SIGNATURE_HEIGHT = 20, 24  # room to sign by hand on the printed register


def register_xlsx(register: Register) -> bytes:
    """The session register as a spreadsheet: a few lines about the session, then the table."""
    session = register.session
    course_class = session.course_class
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sổ điểm danh"
    heading(sheet, f"Sổ điểm danh: {course_class.name}")
    venue = session.venue.name if session.venue else "Chưa có địa điểm"
    about = [
        ("Khóa học", course_class.course.title),
        ("Ngày", to_local(session.starts_at).date()),
        ("Bắt đầu", Styled(session.starts_at, TIME)),
        ("Kết thúc", Styled(session.ends_at, TIME)),
        ("Địa điểm", venue),
        ("Giảng viên", ", ".join(t.full_name for t in course_class.trainers)),
        ("Chủ đề", session.topic),
    ]
    for label, value in about:
        append(sheet, [label, value])
        sheet.cell(sheet.max_row, 1).font = BOLD
    append(sheet, [])
    header_row = append(sheet, REGISTER_HEADERS)
    for number, line in enumerate(register.lines, start=1):
        record = line.record
        row = append(
            sheet,
            [
                number,
                line.person.full_name,
                line.person.birth_year,
                line.person.village.name,
                VI_WORDS.get(line.status, VI_NOT_RECORDED) if record else VI_NOT_RECORDED,
                _arrival(line, session),
                VI_WORDS.get(record.method, record.method) if record else "",
                "",
            ],
        )
        sheet.row_dimensions[row].height = SIGNATURE_HEIGHT
    last_row = sheet.max_row
    append(sheet, [])
    for status in Status:
        append(sheet, ["", VI_WORDS[status], register.totals[status]])
    append(sheet, ["", VI_NOT_RECORDED, register.totals[None]])
    format_table(sheet, header_row=header_row, last_row=last_row, hints={1: [a for a, _ in about]})
    signature = get_column_letter(len(REGISTER_HEADERS))
    sheet.column_dimensions[signature].width = SIGNATURE_WIDTH
    return to_bytes(book)


GRID_FIXED = ["Họ và tên", "Năm sinh", "Thôn"]
GRID_TOTALS = ["Số buổi dự", "Số buổi đã học", "Số giờ", "Tỉ lệ"]


def _session_header(column: Column, shared_days: set) -> Styled:
    """The session's start as a date cell: its date, and its time too when the class meets
    twice that day; a cancelled session says so in the cell's format."""
    start = column.session.starts_at
    shown = DATETIME if to_local(start).date() in shared_days else DATE
    if column.session.is_cancelled:
        shown += '" (hủy)"'
    return Styled(start, shown)


def class_grid_xlsx(grid: ClassGrid) -> bytes:
    """The class grid as a spreadsheet: the class named on top, a column per session headed
    by its date, names frozen on the left, headers frozen on top; then the sessions and the
    legend on their own sheets."""
    course_class = grid.course_class
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Điểm danh"
    heading(sheet, f"Điểm danh lớp: {course_class.name}")
    append(sheet, [f"Khóa học: {course_class.course.title}"])
    append(sheet, [])
    days = Counter(to_local(c.session.starts_at).date() for c in grid.columns)
    shared_days = {day for day, count in days.items() if count > 1}
    headers = [_session_header(c, shared_days) for c in grid.columns]
    header_row = append(sheet, GRID_FIXED + headers + GRID_TOTALS)
    first_mark = len(GRID_FIXED) + 1
    first_total = first_mark + len(grid.columns)
    for row in grid.rows:
        person = row.person
        append(
            sheet,
            [person.full_name, person.birth_year, person.village.name]
            + [cell.mark or None for cell in row.cells]
            + _totals(row.tally),
        )
    last_row = sheet.max_row
    append(
        sheet,
        ["Số người dự", None, None]
        + [c.attended if c.held else None for c in grid.columns]
        + _totals(grid.total),
        font=BOLD,
    )
    # Upright dates keep a column of marks narrow: a class of twenty sessions fits the width.
    for cell in sheet[header_row][first_mark - 1 : first_total - 1]:
        cell.alignment = Alignment(horizontal="center", textRotation=UPRIGHT)
    centred = Alignment(horizontal="center")
    for marks in sheet.iter_rows(
        min_row=header_row + 1, min_col=first_mark, max_col=first_total - 1
    ):
        for cell in marks:
            cell.alignment = centred
    format_table(sheet, header_row=header_row, last_row=last_row, freeze_column=2)
    _sessions_sheet(book, grid)
    _legend_sheet(book)
    return to_bytes(book)


def _totals(counted: Tally) -> list:
    """Sessions attended, sessions held, hours, rate: the grid's last columns."""
    return [
        counted.attended,
        counted.held,
        Styled(round(counted.hours, 2), "0.0"),
        Styled(counted.rate, "0%"),
    ]


def _sessions_sheet(book, grid: ClassGrid) -> None:
    """Each session of the grid: its date, times, length and topic."""
    sheet = book.create_sheet("Buổi học")
    header_row = append(
        sheet, ["STT", "Ngày", "Bắt đầu", "Kết thúc", "Số giờ", "Chủ đề", "Ghi chú"]
    )
    for number, column in enumerate(grid.columns, start=1):
        session = column.session
        note = "Đã hủy" if session.is_cancelled else ("" if column.held else "Chưa diễn ra")
        append(
            sheet,
            [
                number,
                to_local(session.starts_at).date(),
                Styled(session.starts_at, TIME),
                Styled(session.ends_at, TIME),
                Styled(round(session.hours, 2), "0.0"),
                session.topic,
                note,
            ],
        )
    format_table(sheet, header_row=header_row)


def _legend_sheet(book) -> None:
    legend = book.create_sheet("Ký hiệu")
    header_row = append(legend, ["Ký hiệu", "Nghĩa"])
    for status, mark in MARKS.items():
        append(legend, [mark, VI_WORDS[status]])
    append(legend, [NOT_RECORDED_MARK, VI_NOT_RECORDED])
    append(legend, ["(hủy)", "Buổi học đã hủy: không tính"])
    append(legend, ["", "Buổi chưa diễn ra không được tính vào tỉ lệ"])
    append(legend, ["Tỉ lệ", "Số buổi dự (có mặt hoặc đi muộn) / số buổi đã học"])
    format_table(legend, header_row=header_row, landscape=False, sortable=False)
