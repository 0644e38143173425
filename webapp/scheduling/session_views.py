"""Sessions of a class: one, or a weekly series with a preview; the session page; edit and
cancel.

A clash (a trainer, the venue or the class booked twice) is refused with links to the
clashing sessions; an organiser may save anyway with a note, which is recorded.
"""

from datetime import date, datetime
from types import SimpleNamespace

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from webapp import htmx
from webapp.errors import DomainError
from webapp.extensions import db
from webapp.forms import BaseForm
from webapp.permissions import MANAGERS, roles_required
from webapp.scheduling import queries, services
from webapp.scheduling.forms import CancelForm, SeriesForm, SessionForm
from webapp.scheduling.ical import is_off
from webapp.scheduling.ids import ids_beyond_range_not_found
from webapp.scheduling.models import ClassSession, CourseClass, Venue
from webapp.scheduling.series import WEEKDAY_LABELS, expand
from webapp.timeutil import to_local, utcnow

bp = Blueprint("sessions", __name__)
ids_beyond_range_not_found(bp)


# --- template helpers (used by the calendar and public pages too) -----------------------------


@bp.app_template_filter("hhmm")
def hhmm(value: datetime | None) -> str:
    """HH:MM in Vietnam time."""
    return to_local(value).strftime("%H:%M") if value else ""


@bp.app_template_filter("weekday")
def weekday(value: date | datetime) -> str:
    """The day of the week, in the page's language (Vietnam days for datetimes)."""
    if isinstance(value, datetime):
        value = to_local(value)
    return str(WEEKDAY_LABELS[value.weekday()])


@bp.app_template_global()
def class_url(course_class: CourseClass) -> str:
    """The class's own page (where its sessions are listed)."""
    return url_for("scheduling.class_detail", class_id=course_class.id)


# --- loading and errors -----------------------------------------------------------------------


def _venues(course_class: CourseClass) -> list[Venue]:
    return list(
        db.session.scalars(
            select(Venue).where(Venue.commune_id == course_class.commune_id).order_by(Venue.name)
        )
    )


FIELD_OF_CODE = {
    "time_order": "end",
    "series_skip_invalid": "skip",
    "series_no_weekday": "weekdays",
    "series_end_before_start": "until",
    "override_reason_missing": "override_note",
}


def _show_error(form: BaseForm, error: DomainError) -> tuple[list, int]:
    """Put a refused action's message on the form; returns (clashes, HTTP status)."""
    db.session.rollback()
    if error.status == 403:
        raise error
    field = FIELD_OF_CODE.get(error.code)
    if field is not None and field in form:
        form[field].errors = [*form[field].errors, error.message]
    else:
        form.form_errors.append(error.message)
    return getattr(error, "clashes", []), error.status


def _status_for(status: int) -> int:
    # htmx 2 does not swap 4xx answers: the preview's errors are shown in the fragment it asked
    # for, so the fragment goes out as 200; without JavaScript the status stays as it is.
    return 200 if htmx.is_htmx() else status


def _can_override() -> bool:
    return current_user.role in MANAGERS


# --- one session ------------------------------------------------------------------------------


@bp.route("/classes/<int:class_id>/sessions/new", methods=["GET", "POST"])
@roles_required(*services.PLANNERS)
def create(class_id: int):
    """Add one session to a class."""
    course_class = queries.get_class(current_user, class_id, for_running=True)
    form = SessionForm(venues=_venues(course_class))
    if request.method == "GET" and course_class.sessions:  # same place as last time
        form.venue_id.data = course_class.sessions[-1].venue_id
    clashes, status = [], 200
    if form.validate_on_submit():
        try:
            session = services.add_sessions(
                actor=current_user,
                now=utcnow(),
                course_class=course_class,
                planned=[form.planned()],
                venue_id=form.venue_id.data,
                topic=form.topic.data,
                note=form.note.data,
                override_note=form.override_note_for_service(),
            )[0]
        except DomainError as error:
            clashes, status = _show_error(form, error)
        else:
            db.session.commit()
            flash(_("The session has been added."), "success")
            return redirect(url_for(".detail", session_id=session.id))
    elif form.is_submitted():
        status = 422
    return render_template(
        "scheduling/session_form.html",
        form=form,
        course_class=course_class,
        session=None,
        clashes=clashes,
        can_override=_can_override(),
    ), status


@bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@roles_required(*services.PLANNERS)
def edit(session_id: int):
    """Move a session or change its venue, topic or note."""
    session = queries.get_session(current_user, session_id, for_running=True)
    course_class = session.course_class
    if session.is_cancelled:
        flash(_("This session was cancelled."), "error")
        return redirect(url_for(".detail", session_id=session.id))
    if request.method == "GET":
        start, end = to_local(session.starts_at), to_local(session.ends_at)
        current = SimpleNamespace(
            day=start.date(),
            start=start.time(),
            end=end.time(),
            venue_id=session.venue_id,
            topic=session.topic,
            note=session.note,
        )
        form = SessionForm(obj=current, venues=_venues(course_class))
    else:
        form = SessionForm(venues=_venues(course_class))
    clashes, status = [], 200
    if form.validate_on_submit():
        try:
            services.update_session(
                actor=current_user,
                now=utcnow(),
                session=session,
                planned=form.planned(),
                venue_id=form.venue_id.data,
                topic=form.topic.data,
                note=form.note.data,
                override_note=form.override_note_for_service(),
            )
        except DomainError as error:
            clashes, status = _show_error(form, error)
            session = db.session.get(ClassSession, session_id)  # reloaded after the rollback
        else:
            db.session.commit()
            flash(_("Changes to the session saved."), "success")
            return redirect(url_for(".detail", session_id=session.id))
    elif form.is_submitted():
        status = 422
    return render_template(
        "scheduling/session_form.html",
        form=form,
        course_class=session.course_class,
        session=session,
        clashes=clashes,
        can_override=_can_override(),
    ), status


# --- a weekly series --------------------------------------------------------------------------


@bp.route("/classes/<int:class_id>/sessions/series", methods=["GET", "POST"])
@roles_required(*services.PLANNERS)
def series(class_id: int):
    """Plan sessions by a weekly rule: "Preview" lists them (and any clash) without saving;
    "Save" expands the same rule again here and saves every session, or none."""
    course_class = queries.get_class(current_user, class_id, for_running=True)
    form = SeriesForm(venues=_venues(course_class))
    if request.method == "GET" and course_class.sessions:
        form.venue_id.data = course_class.sessions[-1].venue_id
    planned, clashes, status = None, [], 200
    if form.validate_on_submit():
        try:
            planned = expand(form.rule())
            if request.form.get("action") == "save":
                sessions = services.add_sessions(
                    actor=current_user,
                    now=utcnow(),
                    course_class=course_class,
                    planned=planned,
                    venue_id=form.venue_id.data,
                    topic=form.topic.data,
                    override_note=form.override_note_for_service(),
                )
                db.session.commit()
                flash(
                    ngettext(
                        "%(num)d session has been added.",
                        "%(num)d sessions have been added.",
                        len(sessions),
                    ),
                    "success",
                )
                return redirect(class_url(course_class))
            clashes = services.find_clashes(course_class, form.venue_id.data, planned)
        except DomainError as error:
            clashes, status = _show_error(form, error)
            course_class = db.session.get(CourseClass, class_id)  # reloaded after the rollback
    elif form.is_submitted():
        status = 422
    response = htmx.render(
        "scheduling/session_series.html",
        "scheduling/_series_form.html",
        form=form,
        course_class=course_class,
        planned=planned,
        clashes=clashes,
        clash_days=[d.strftime("%d/%m") for d in sorted({c.planned.local_day for c in clashes})],
        can_override=_can_override(),
    )
    return response, _status_for(status)


# --- the session page, cancelling -------------------------------------------------------------


def state_of(session: ClassSession, now: datetime) -> str:
    """cancelled, upcoming, running or finished."""
    if is_off(session):
        return "cancelled"
    if now < session.starts_at:
        return "upcoming"
    return "running" if now < session.ends_at else "finished"


@bp.get("/sessions/<int:session_id>")
@roles_required(*services.PLANNERS)
def detail(session_id: int):
    """The live-session page: class, time, venue, topic, how many are enrolled, status."""
    session = queries.get_session(current_user, session_id)
    return render_template(
        "scheduling/session_detail.html",
        session=session,
        course_class=session.course_class,
        enrolled=queries.enrolled_counts([session.class_id]).get(session.class_id, 0),
        state=state_of(session, utcnow()),
        can_run=services.can_run(current_user, session.course_class),
    )


@bp.route("/sessions/<int:session_id>/cancel", methods=["GET", "POST"])
@roles_required(*services.PLANNERS)
def cancel(session_id: int):
    """Cancel a session, with a reason; it stays on every calendar, marked as cancelled."""
    session = queries.get_session(current_user, session_id, for_running=True)
    if session.is_cancelled:
        flash(_("This session was already cancelled."), "error")
        return redirect(url_for(".detail", session_id=session.id))
    form = CancelForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.cancel_session(
                actor=current_user, now=utcnow(), session=session, reason=form.reason.data
            )
        except DomainError as error:
            status = _show_error(form, error)[1]
            session = db.session.get(ClassSession, session_id)
        else:
            db.session.commit()
            flash(_("The session has been cancelled."), "success")
            return redirect(url_for(".detail", session_id=session.id))
    elif form.is_submitted():
        status = 422
    return render_template("scheduling/session_cancel.html", form=form, session=session), status
