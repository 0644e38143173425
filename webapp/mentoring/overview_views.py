"""The organiser's view of the mentoring network (/mentoring), the weekly digest and the
Excel export.

Organisers, admins and village leads (``MENTORING_MANAGERS``), each for what they may see
(:mod:`webapp.mentoring.overview` filters everything through the scoped queries: a village
lead sees their village's mentors and mentees only). Mentors have their own page (/mentor).
"""

import io

import openpyxl
from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user

from webapp.ids import query_int
from webapp.mentoring import overview, services
from webapp.mentoring.access import MENTORING_MANAGERS
from webapp.mentoring.models import MEETING_PLACE_LABELS, ORGANISATION_LABELS
from webapp.people import audit
from webapp.people import queries as people_queries
from webapp.people.models import SEGMENT_LABELS
from webapp.permissions import roles_required
from webapp.timeutil import to_local, utcnow

bp = Blueprint("mentoring_overview", __name__)

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/mentoring")
@roles_required(*MENTORING_MANAGERS)
def index():
    """The mentors of the user's scope with this month's meetings and hours, the flags (under
    the minimum, overdue mentees), the totals, mentees per village and segment, and the
    unmatched priority people per village."""
    network = overview.overview(current_user, now=utcnow())
    return render_template(
        "mentoring/overview.html",
        network=network,
        export_people=len(network.rows) + len(network.statuses),
        organisations=ORGANISATION_LABELS,
        segments=SEGMENT_LABELS,
        priority=services.PRIORITY_SEGMENTS,
    )


@bp.get("/mentoring/digest")
@roles_required(*MENTORING_MANAGERS)
def digest():
    """The week's digest for the supervisor (printable on A4): who needs attention; an
    organiser may print one village's part for its village lead (``?village=``)."""
    now = utcnow()
    village_id = query_int("village")
    village = people_queries.get_village(current_user, village_id) if village_id else None
    if village_id and village is None:
        abort(404)
    found = overview.digest(current_user, now=now, village=village)
    page = render_template(
        "mentoring/digest.html",
        digest=found,
        now=now,
        village=village,
        villages=people_queries.villages_for(current_user),
        places=MEETING_PLACE_LABELS,
    )
    named = len(found.overdue) + len(found.under_minimum)
    named += sum(len(visit.people) for visit in found.not_held + found.unconfirmed)
    _audit(audit.AuditAction.PRINT, named)
    return page


def _audit(action: audit.AuditAction, rows: int) -> None:
    """One event for the many people of the page or file (see :func:`audit.record_read`)."""
    audit.record_read(
        actor=current_user,
        now=utcnow(),
        address=request.remote_addr,
        action=action,
        what=request.endpoint,
        rows=rows,
    )


def _people_in(body: bytes) -> int:
    """The mentors and mentees of the workbook: its first two sheets, under their header."""
    book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    return sum(max((sheet.max_row or 1) - 1, 0) for sheet in book.worksheets[:2])


@bp.get("/mentoring/export.xlsx")
@roles_required(*MENTORING_MANAGERS)
def export():
    """The overview as an Excel workbook: mentors, mentees and this month's meetings."""
    now = utcnow()
    body = overview.workbook(current_user, now=now)
    response = Response(body, mimetype=XLSX_MIMETYPE)
    month = to_local(now).strftime("%Y-%m")
    response.headers["Content-Disposition"] = f"attachment; filename=dai-su-so-{month}.xlsx"
    response.headers["Cache-Control"] = "private, no-store"
    _audit(audit.AuditAction.EXPORT, _people_in(body))
    return response
