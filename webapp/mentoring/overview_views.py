"""The organiser's view of the mentoring network (/mentoring), the weekly digest and the
Excel export.

Organisers, admins and village leads (``MENTORING_MANAGERS``), each for what they may see
(:mod:`webapp.mentoring.overview` filters everything through the scoped queries: a village
lead sees their village's mentors and mentees only). Mentors have their own page (/mentor).
"""

from flask import Blueprint, Response, abort, render_template
from flask_login import current_user

from webapp.ids import query_int
from webapp.mentoring import overview, services
from webapp.mentoring.access import MENTORING_MANAGERS
from webapp.mentoring.models import MEETING_PLACE_LABELS, ORGANISATION_LABELS
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
    return render_template(
        "mentoring/overview.html",
        network=overview.overview(current_user, now=utcnow()),
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
    return render_template(
        "mentoring/digest.html",
        digest=overview.digest(current_user, now=now, village=village),
        now=now,
        village=village,
        villages=people_queries.villages_for(current_user),
        places=MEETING_PLACE_LABELS,
    )


@bp.get("/mentoring/export.xlsx")
@roles_required(*MENTORING_MANAGERS)
def export():
    """The overview as an Excel workbook: mentors, mentees and this month's meetings."""
    now = utcnow()
    response = Response(overview.workbook(current_user, now=now), mimetype=XLSX_MIMETYPE)
    month = to_local(now).strftime("%Y-%m")
    response.headers["Content-Disposition"] = f"attachment; filename=dai-su-so-{month}.xlsx"
    response.headers["Cache-Control"] = "private, no-store"
    return response
