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
from webapp.forms import BaseForm, attempt, page_status
from webapp.permissions import roles_required
from webapp.scheduling import queries, services
from webapp.scheduling.access import may_override_clash
from webapp.scheduling.forms import CancelForm, SeriesForm, SessionForm
from webapp.scheduling.ical import is_off
from webapp.scheduling.models import ClassSession, CourseClass, Venue
from webapp.scheduling.series import WEEKDAY_LABELS, expand, skipped_days
from webapp.timeutil import to_local, utcnow

bp = Blueprint("sessions", __name__)


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


# --- loading and refusals ---------------------------------------------------------------------


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


def _beside_its_field(form: BaseForm, error: DomainError) -> list:
    """Move a refusal's message from the form's summary (where :func:`attempt` puts it) next to
    its field, when the form has one; returns the clashes the refusal names."""
    field = FIELD_OF_CODE.get(error.code)
    if field is not None and field in form:
        form.form_errors.remove(error.message)
        form[field].errors = [*form[field].errors, error.message]
    return getattr(error, "clashes", [])


def _status_for(status: int) -> int:
    # htmx 2 does not swap 4xx answers: the preview's errors are shown in the fragment it asked
    # for, so the fragment goes out as 200; without JavaScript the status stays as it is.
    return 200 if htmx.is_htmx() else status


# --- one session ------------------------------------------------------------------------------


def _session_page(form: SessionForm, course_class: CourseClass, session, clashes: list):
    """The form of a new session (``session`` None) or of a session being changed."""
    return render_template(
        "scheduling/session_form.html",
        form=form,
        course_class=course_class,
        session=session,
        clashes=clashes,
        can_override=may_override_clash(current_user),
    ), page_status(form)


@bp.route("/classes/<int:class_id>/sessions/new", methods=["GET", "POST"])
@roles_required(*services.PLANNERS)
def create(class_id: int):
    """Add one session to a class."""
    course_class = queries.get_class(current_user, class_id, for_running=True)
    form = SessionForm(venues=_venues(course_class))
    if request.method == "GET" and course_class.sessions:  # same place as last time
        form.venue_id.data = course_class.sessions[-1].venue_id
    clashes = []
    if form.validate_on_submit():
        with attempt(form) as refused:
            session = services.add_sessions(
                actor=current_user,
                now=utcnow(),
                course_class=course_class,
                planned=[form.planned()],
                **form.plan_fields(),
            )[0]
        if not refused:
            flash(_("The session has been added."), "success")
            return redirect(url_for(".detail", session_id=session.id))
        clashes = _beside_its_field(form, refused.error)
    return _session_page(form, course_class, None, clashes)


def _back_to_session(session: ClassSession, problem: str):
    """The session's page, saying why the change asked for cannot be made."""
    flash(problem, "error")
    return redirect(url_for(".detail", session_id=session.id))


def _edit_form(session: ClassSession) -> SessionForm:
    """The form of a session, filled in with the session as it is for a GET."""
    venues = _venues(session.course_class)
    if request.method != "GET":
        return SessionForm(venues=venues)
    start, end = to_local(session.starts_at), to_local(session.ends_at)
    current = SimpleNamespace(
        day=start.date(),
        start=start.time(),
        end=end.time(),
        venue_id=session.venue_id,
        topic=session.topic,
        note=session.note,
    )
    return SessionForm(obj=current, venues=venues)


@bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@roles_required(*services.PLANNERS)
def edit(session_id: int):
    """Move a session or change its venue, topic or note (a cancelled session is not
    changed: back to its page)."""
    session = queries.get_session(current_user, session_id, for_running=True)
    if session.is_cancelled:
        return _back_to_session(session, _("This session was cancelled."))
    form = _edit_form(session)
    clashes = []
    if form.validate_on_submit():
        with attempt(form) as refused:
            services.update_session(
                actor=current_user,
                now=utcnow(),
                session=session,
                planned=form.planned(),
                **form.plan_fields(),
            )
        if not refused:
            flash(_("Changes to the session saved."), "success")
            return redirect(url_for(".detail", session_id=session.id))
        clashes = _beside_its_field(form, refused.error)
        session = db.session.get(ClassSession, session_id)  # reloaded after the rollback
    return _session_page(form, session.course_class, session, clashes)


# --- a weekly series --------------------------------------------------------------------------


def _preview(form: SeriesForm, course_class: CourseClass) -> tuple[list | None, list]:
    """The sessions the rule gives and their clashes, saving nothing. A rule that gives no
    sessions is refused on the form as :func:`attempt` would (nothing to roll back)."""
    try:
        planned = expand(form.rule())
    except DomainError as error:
        form.form_errors.append(error.message)
        form.refusal_status = error.status
        return None, _beside_its_field(form, error)
    return planned, services.find_clashes(course_class, form.venue_id.data, planned)


def _skipped(form: SeriesForm, planned) -> tuple[list[str], list[str]]:
    """The preview's days to skip, written "Tuesday 02/09/2026": those left out of the series,
    and those that were no session day of it."""
    if not planned:
        return [], []
    return tuple(
        [f"{WEEKDAY_LABELS[d.weekday()]} {d:%d/%m/%Y}" for d in days]
        for days in skipped_days(form.rule())
    )


def _series_page(form: SeriesForm, course_class: CourseClass, planned, clashes: list):
    left_out, not_session_days = _skipped(form, planned)
    response = htmx.render(
        "scheduling/session_series.html",
        "scheduling/_series_form.html",
        form=form,
        course_class=course_class,
        planned=planned,
        clashes=clashes,
        clash_days=[d.strftime("%d/%m") for d in sorted({c.planned.local_day for c in clashes})],
        left_out=left_out,
        not_session_days=not_session_days,
        can_override=may_override_clash(current_user),
    )
    return response, _status_for(page_status(form))


@bp.route("/classes/<int:class_id>/sessions/series", methods=["GET", "POST"])
@roles_required(*services.PLANNERS)
def series(class_id: int):
    """Plan sessions by a weekly rule: "Preview" lists them (and any clash) without saving;
    "Save" expands the same rule again here and saves every session, or none."""
    course_class = queries.get_class(current_user, class_id, for_running=True)
    form = SeriesForm(venues=_venues(course_class))
    if request.method == "GET" and course_class.sessions:
        form.venue_id.data = course_class.sessions[-1].venue_id
    planned, clashes = None, []
    if form.validate_on_submit():
        if request.form.get("action") != "save":
            planned, clashes = _preview(form, course_class)
        else:
            with attempt(form) as refused:
                planned = expand(form.rule())
                sessions = services.add_sessions(
                    actor=current_user,
                    now=utcnow(),
                    course_class=course_class,
                    planned=planned,
                    **form.plan_fields(),
                )
            if not refused:
                _flash_added(sessions)
                return redirect(class_url(course_class))
            clashes = _beside_its_field(form, refused.error)
            course_class = db.session.get(CourseClass, class_id)  # reloaded after the rollback
    return _series_page(form, course_class, planned, clashes)


def _flash_added(sessions: list[ClassSession]) -> None:
    flash(
        ngettext(
            "%(num)d session has been added.",
            "%(num)d sessions have been added.",
            len(sessions),
        ),
        "success",
    )


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
        return _back_to_session(session, _("This session was already cancelled."))
    form = CancelForm()
    if form.validate_on_submit():
        with attempt(form) as refused:
            services.cancel_session(
                actor=current_user, now=utcnow(), session=session, reason=form.reason.data
            )
        if not refused:
            flash(_("The session has been cancelled."), "success")
            return redirect(url_for(".detail", session_id=session.id))
        _beside_its_field(form, refused.error)
        session = db.session.get(ClassSession, session_id)
    return render_template(
        "scheduling/session_cancel.html", form=form, session=session
    ), page_status(form)
