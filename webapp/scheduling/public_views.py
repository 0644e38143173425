"""The public schedule (no personal data), its printable notice, and the calendar feeds.

Which commune: the one of ``?village=``, else ``?commune=CODE``, else the only commune of
the deployment; with several communes and neither given, the page lists them to choose from.
"""

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, make_response, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from webapp import qr
from webapp.accounts.models import User
from webapp.extensions import db
from webapp.ids import row_id
from webapp.people.models import Commune, Village
from webapp.permissions import public
from webapp.scheduling import ical, queries, services
from webapp.scheduling.models import ClassSession, CourseClass
from webapp.text import clean
from webapp.timeutil import utcnow

bp = Blueprint("public", __name__)

SCHEDULE_DAYS = 60  # the public page looks two months ahead
NOTICE_DAYS = 31  # the printed notice: the coming month
FEED_PAST_DAYS = 30  # feeds keep last month's sessions, so calendars do not drop them at once
FEED_DAYS = 365


def _village_arg() -> int | None:
    """The village asked for: None for none or for words; a number no village has is 404."""
    text = (request.args.get("village") or "").strip()
    if not text.isascii():  # int() would read Arabic-Indic or full-width digits as a village
        return None
    try:
        return int(text or 0) or None
    except ValueError:
        return None


def _place() -> tuple[Commune | None, Village | None]:
    """The commune and (optional) village asked for; (None, None) means "let them choose"."""
    village = None
    if asked := _village_arg():
        village = db.session.get(Village, asked) if row_id(asked) else None
        if village is None:  # unknown, or a number no village can have
            abort(404)
    commune = None
    if code := clean(request.args.get("commune")).upper():
        commune = db.session.scalar(select(Commune).where(Commune.code == code))
        if commune is None or (village is not None and village.commune_id != commune.id):
            abort(404)
    if commune is None and village is not None:
        commune = village.commune
    if commune is None and db.session.scalar(select(func.count()).select_from(Commune)) == 1:
        commune = db.session.scalar(select(Commune))
    return commune, village


def _place_args(commune: Commune, village: Village | None) -> dict:
    """Query arguments naming the place, as short as they can be."""
    if village is not None:
        return {"village": village.id}
    several = db.session.scalar(select(func.count()).select_from(Commune)) > 1
    return {"commune": commune.code} if several else {}


def _groups(sessions: list[ClassSession], commune: Commune) -> list[tuple]:
    """(name, sessions, village) by village (the class's village, else the venue's), in the
    commune's order; sessions tied to no village come last under the commune's name (and
    no village)."""
    by_village: dict[int | None, list] = {}
    for session in sessions:
        village = session.course_class.village or (session.venue and session.venue.village)
        by_village.setdefault(village.id if village else None, []).append(session)
    groups = [(v.name, by_village[v.id], v) for v in commune.villages if v.id in by_village]
    if None in by_village:
        groups.append((_("Whole commune"), by_village[None], None))
    return groups


def _schedule(days: int) -> dict | None:
    commune, village = _place()
    if commune is None:
        return None
    now = utcnow()
    sessions = queries.public_sessions(
        commune.id, now, village_id=village.id if village else None, days=days
    )
    place_args = _place_args(commune, village)
    return {
        "commune": commune,
        "village": village,
        "groups": _groups(sessions, commune),
        "now": now,
        "until": now + timedelta(days=days),
        "place_args": place_args,
        "page_url": current_app.config["BASE_URL"] + url_for("public.schedule", **place_args),
    }


@bp.get("/lich")
@public
def schedule():
    """Upcoming sessions by village: course, day, time, place and topic; nobody's name."""
    found = _schedule(SCHEDULE_DAYS)
    if found is None:
        communes = db.session.scalars(select(Commune).order_by(Commune.name))
        return render_template("public/schedule.html", communes=list(communes), commune=None)
    villages = found["commune"].villages
    return render_template("public/schedule.html", villages=villages, **found)


@bp.get("/lich/in")
@public
def schedule_print():
    """The coming month as an A4 notice for the village cultural house, with a QR code to the
    schedule page."""
    found = _schedule(NOTICE_DAYS)
    if found is None:
        abort(404)
    return render_template("public/schedule_print.html", qr=_qr(found["page_url"]), **found)


def _qr(text: str) -> str:
    """A QR code as an SVG data URI (the CSP allows data: images)."""
    return qr.data_uri(text)


# --- calendar feeds ---------------------------------------------------------------------------


def _ics(name: str, sessions, filename: str, *, private=False, show_reasons=False, link=None):
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "lopso"
    body = ical.feed(name, sessions, host=host, now=utcnow(), show_reasons=show_reasons, link=link)
    response = make_response(body)
    response.headers["Content-Type"] = ical.CONTENT_TYPE
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = f"{'private' if private else 'public'}, max-age=900"
    return response


def _feed_window():
    now = utcnow()
    return now - timedelta(days=FEED_PAST_DAYS), FEED_PAST_DAYS + FEED_DAYS


@bp.get("/lich/<int:village_id>.ics")
@public
def village_ics(village_id: int):
    """The sessions of one village's classes, for a phone calendar (no cancellation reasons:
    they may name somebody)."""
    village = db.session.get(Village, village_id) or abort(404)
    since, days = _feed_window()
    sessions = queries.public_sessions(village.commune_id, since, village_id=village.id, days=days)
    name = _("Classes in %(village)s", village=village.name)
    return _ics(name, sessions, f"lich-thon-{village.id}.ics")


@bp.get("/lop/<token>.ics")
@public
def class_ics(token: str):
    """All sessions of one class, by the class's unguessable public token (the same token as
    its public page), so a trainer can give learners the class calendar."""
    course_class = db.session.scalar(select(CourseClass).where(CourseClass.public_token == token))
    if course_class is None:
        abort(404)
    name = f"{course_class.course.title} — {course_class.name}"
    return _ics(name, course_class.sessions, f"lop-{course_class.id}.ics")


@bp.get("/calendar/<token>.ics")
@public
def trainer_ics(token: str):
    """A trainer's own sessions (a personal link made from the trainer's day page)."""
    user = db.session.scalar(select(User).where(User.calendar_token == token))
    if user is None or not user.active or user.role not in services.PLANNERS:
        abort(404)
    since, days = _feed_window()
    sessions = queries.sessions_of_trainer(user, since, since + timedelta(days=days))
    base = current_app.config["BASE_URL"]

    def link(session: ClassSession) -> str:
        return base + url_for("sessions.detail", session_id=session.id)

    name = f"Lớp Số — {user.full_name}"
    return _ics(name, sessions, "lop-so.ics", private=True, show_reasons=True, link=link)
