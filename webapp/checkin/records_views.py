"""Attendance records: a session's printable register, a class's grid, a person's record,
and the Excel exports of the first two.

Staff of the commune read them, each seeing only the people they may see (a village lead:
their village's learners, also in a class with learners from several villages; mentors, who
are volunteers, none of it). Learner codes are not shown here: they are printed on the cards
and the sign-in sheet of the class's own trainers.
"""

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import format_decimal, format_percent
from flask_login import current_user

from webapp.checkin import phones, records
from webapp.checkin.models import METHOD_LABELS, STATUS_LABELS
from webapp.extensions import db
from webapp.people import audit
from webapp.people import queries as people_queries
from webapp.people.models import Commune
from webapp.permissions import PEOPLE_READERS, roles_required
from webapp.scheduling import queries as scheduling_queries
from webapp.scheduling import services as scheduling
from webapp.scheduling.models import CLASS_STATUS_LABELS
from webapp.text import fold
from webapp.timeutil import to_local, utcnow

bp = Blueprint("checkin_records", __name__)

READERS = PEOPLE_READERS


def _percent(rate: float | None) -> str:
    return "—" if rate is None else format_percent(rate)


def _hours(hours: float) -> str:
    return format_decimal(round(hours, 1), format="0.#")


def _context(**ctx) -> dict:
    """What every records page shows its numbers and labels with."""
    return dict(
        ctx,
        percent=_percent,
        hours=_hours,
        marks=records.MARKS,
        not_recorded_mark=records.NOT_RECORDED_MARK,
        status_labels=STATUS_LABELS,
        method_labels=METHOD_LABELS,
        class_status_labels=CLASS_STATUS_LABELS,
        sees_person=_sees_person,
    )


def _sees_person(person) -> bool:
    """Whether a link to the person's attendance page would open for this user."""
    return people_queries.sees_person(current_user, person)


def _shown(page, action: audit.AuditAction, people):
    """``page`` (or file), once each of ``people`` is logged as shown in it."""
    audit.record_read(
        actor=current_user,
        now=utcnow(),
        address=request.remote_addr,
        action=action,
        what=request.endpoint,
        people=people,
    )
    return page


def _xlsx(body: bytes, name: str) -> Response:
    response = Response(body, mimetype=records.XLSX_MIMETYPE)
    response.headers["Content-Disposition"] = f"attachment; filename={name}.xlsx"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _register(session_id: int) -> records.Register:
    session = scheduling_queries.get_session(current_user, session_id)
    return records.session_register(session, viewer=current_user)


@bp.get("/sessions/<int:session_id>/register")
@roles_required(*READERS)
def register(session_id: int):
    """A session's register: who came, when and how; printable on A4."""
    sheet = _register(session_id)
    commune = db.session.get(Commune, sheet.session.course_class.commune_id)
    page = render_template(
        "checkin/records_register.html", register=sheet, commune=commune, now=utcnow(), **_context()
    )
    return _shown(page, audit.AuditAction.VIEW, [line.person for line in sheet.lines])


@bp.get("/sessions/<int:session_id>/register.xlsx")
@roles_required(*READERS)
def register_xlsx(session_id: int):
    """A session's register as an Excel file."""
    sheet = _register(session_id)
    day = to_local(sheet.session.starts_at).strftime("%Y-%m-%d")
    file = _xlsx(records.register_xlsx(sheet), f"diem-danh-{day}-buoi-{session_id}")
    return _shown(file, audit.AuditAction.EXPORT, [line.person for line in sheet.lines])


@bp.get("/classes/<int:class_id>/attendance")
@roles_required(*READERS)
def class_grid(class_id: int):
    """A class's learners × sessions, with attendance totals per learner and per session."""
    course_class = scheduling_queries.get_class(current_user, class_id)
    grid = records.class_grid(course_class, now=utcnow(), viewer=current_user)
    page = render_template("checkin/records_class.html", grid=grid, **_context())
    return _shown(page, audit.AuditAction.VIEW, [row.person for row in grid.rows])


@bp.get("/classes/<int:class_id>/attendance.xlsx")
@roles_required(*READERS)
def class_grid_xlsx(class_id: int):
    """A class's attendance grid as an Excel file."""
    course_class = scheduling_queries.get_class(current_user, class_id)
    grid = records.class_grid(course_class, now=utcnow(), viewer=current_user)
    file = _xlsx(records.class_grid_xlsx(grid), f"diem-danh-lop-{class_id}-{_slug(grid)}")
    return _shown(file, audit.AuditAction.EXPORT, [row.person for row in grid.rows])


def _slug(grid: records.ClassGrid) -> str:
    """The class name in plain ASCII for the file name: 'Lớp Zalo Thôn 1' -> 'lop-zalo-thon-1'."""
    words = (
        "".join(c for c in w if c.isascii() and c.isalnum())
        for w in fold(grid.course_class.name).split()
    )
    return "-".join(w for w in words if w)[:40]


@bp.get("/people/<int:person_id>/attendance")
@roles_required(*READERS)
def person(person_id: int):
    """One person's attendance in every class they are or were enrolled in."""
    found = people_queries.get_person(current_user, person_id) or abort(404)
    record = records.person_record(found, now=utcnow())
    page = render_template(
        "checkin/records_person.html",
        record=record,
        devices=phones.devices_of(found),
        can_revoke=current_user.role in scheduling.PLANNERS,
        **_context(),
    )
    return _shown(page, audit.AuditAction.VIEW, [found])
