"""The trainer's live session: the QR on the projector or phone, who has come and who has
not (htmx polling), requests to join, phones that checked in several people; the roster for
marking people by hand; corrections with who, when and why.
"""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp import htmx, qr
from webapp.checkin import phones, records, services
from webapp.checkin.learner_forms import CorrectForm, MarkForm
from webapp.checkin.models import (
    LINK_METHOD_LABELS,
    METHOD_LABELS,
    STATUS_LABELS,
    Attendance,
    Device,
    JoinRequest,
    Method,
    Status,
)
from webapp.checkin.occasions import SessionOccasion, at_occasion
from webapp.extensions import db
from webapp.forms import BaseForm, Refusal, attempt, page_status
from webapp.people import queries as people_queries
from webapp.people.models import DISABILITY_LABELS, Person
from webapp.permissions import roles_required
from webapp.scheduling import queries as scheduling_queries
from webapp.scheduling import services as scheduling
from webapp.text import clean
from webapp.timeutil import utcnow

bp = Blueprint("checkin_live", __name__)

RUNNERS = scheduling.PLANNERS
LABELS = {
    "status_labels": STATUS_LABELS,
    "method_labels": METHOD_LABELS,
    "disability_labels": DISABILITY_LABELS,
    "marks": records.MARKS,
}


def _occasion(session_id: int) -> SessionOccasion:
    """The session as an occasion; 404 outside the user's commune, 403 unless they run it."""
    session = scheduling_queries.get_session(current_user, session_id, for_running=True)
    return SessionOccasion(session)


def roster_rows(
    occasion: SessionOccasion, *, with_changes: bool = False
) -> list[tuple[Person, Attendance | None]]:
    """Everyone expected, in Vietnamese name order, with their record: a few queries whatever
    the number of people (their villages, shown beside each name, and with ``with_changes``
    the records' changes, which the roster marks)."""
    people = db.session.scalars(
        select(Person)
        .where(Person.id.in_(occasion.members()))
        .options(selectinload(Person.village))
        .order_by(Person.sort_key)
    ).all()
    stmt = select(Attendance).where(at_occasion(Attendance, occasion))
    if with_changes:
        stmt = stmt.options(selectinload(Attendance.changes))
    records = {r.person_id: r for r in db.session.scalars(stmt)}
    return [(person, records.get(person.id)) for person in people]


def _panel_context(occasion: SessionOccasion, now, error: str | None = None) -> dict:
    rows = roster_rows(occasion)
    names = {person.id: person.full_name for person, _record in rows}
    shared = phones.shared_devices(occasion)
    return dict(
        occasion=occasion,
        session=occasion.session,
        came=sorted(
            ((p, r) for p, r in rows if r is not None and r.attended),
            key=lambda row: row[1].recorded_at,
            reverse=True,
        ),
        missing=[(p, r) for p, r in rows if r is None or not r.attended],
        total=len(rows),
        joins=services.pending_joins(occasion),
        links=phones.new_links(occasion),
        link_labels=LINK_METHOD_LABELS,
        shared=[[names.get(i, "?") for i in ids] for ids in shared.values()],
        is_open=occasion.is_open(now),
        now=now,
        error=error,
        **LABELS,
    )


def _qr_context(occasion: SessionOccasion, now) -> dict:
    point = services.point_for(occasion, now=now)
    code = services.current_code(point, now)
    url = url_for("checkin_learner.scan", token=point.token, code=code if point.rotating else None)
    full_url = current_app.config["BASE_URL"] + url
    return dict(
        point=point,
        code=code,
        scan_url=full_url,
        qr_svg=qr.inline_svg(full_url, label=_("QR code for checking in")),
        code_url=current_app.config["BASE_URL"] + url_for("checkin_learner.enter_code"),
    )


@bp.route("/sessions/<int:session_id>/live")
@roles_required(*RUNNERS)
def live(session_id: int):
    """Full-screen QR and typed code, with the live list beside it."""
    occasion = _occasion(session_id)
    now = utcnow()
    qr_context = _qr_context(occasion, now)
    db.session.commit()  # the check-in point, made on first view (before the lists: expired)
    context = {**qr_context, **_panel_context(occasion, now)}
    # Full screen, for the projector: no menu, no names or needs on the wall.
    full = request.args.get("full") == "1"
    return render_template("checkin/live.html", full=full, **context)


@bp.route("/sessions/<int:session_id>/live/panel")
@roles_required(*RUNNERS)
def panel(session_id: int):
    """The live list (polled by htmx every few seconds)."""
    return _panel(_occasion(session_id))


def _panel(occasion: SessionOccasion, error: str | None = None) -> str:
    """The live list, as polled (with the count, out of band), and ``error`` above it."""
    context = _panel_context(occasion, utcnow(), error=error)
    return render_template("checkin/_live_panel.html", oob=True, **context)


def _answer(occasion: SessionOccasion, refused: Refusal, done: str):
    """After a decision on the live page: the live list again for htmx (with the refusal, if
    any), else the live page with a message (the refusal's, or ``done``)."""
    if htmx.is_htmx():
        return _panel(occasion, error=refused.message)
    if refused:
        flash(refused.message, "error")
    else:
        flash(done, "success")
    return redirect(url_for(".live", session_id=occasion.id))


@bp.route("/sessions/<int:session_id>/live/qr")
@roles_required(*RUNNERS)
def qr_part(session_id: int):
    """The QR and code (polled in rotating mode)."""
    occasion = _occasion(session_id)
    context = _qr_context(occasion, utcnow())
    db.session.commit()
    return render_template("checkin/_live_qr.html", occasion=occasion, **context)


@bp.route("/sessions/<int:session_id>/live/rotating", methods=["POST"])
@roles_required(*RUNNERS)
def rotating(session_id: int):
    occasion = _occasion(session_id)
    BaseForm().validate_on_submit() or abort(400)
    on = request.form.get("rotating") == "1"
    services.set_rotating(occasion, actor=current_user, now=utcnow(), rotating=on)
    db.session.commit()
    flash(_("The code now changes every minute.") if on else _("The code no longer changes."))
    return redirect(url_for(".live", session_id=session_id))


@bp.route("/sessions/<int:session_id>/joins/<int:request_id>", methods=["POST"])
@roles_required(*RUNNERS)
def decide_join(session_id: int, request_id: int):
    """Approve (enrol and check in) or turn down a request to join made at the session."""
    occasion = _occasion(session_id)
    join = db.session.get(JoinRequest, request_id)
    if join is None or (join.occasion_kind, join.occasion_id) != (occasion.kind, occasion.id):
        abort(404)
    BaseForm().validate_on_submit() or abort(400)
    approve = request.form.get("decision") == "approve"
    name = join.person.full_name
    with attempt() as refused:
        services.decide_join(join, actor=current_user, now=utcnow(), approve=approve)
    if approve:
        return _answer(
            occasion, refused, _("%(name)s joined the class and is checked in.", name=name)
        )
    return _answer(occasion, refused, _("The request of %(name)s was turned down.", name=name))


# --- phones linked at this session: confirm or undo -------------------------------------------


def _new_link(occasion: SessionOccasion, device_id: int) -> Device:
    device = db.session.get(Device, device_id)
    if device is None or (device.occasion_kind, device.occasion_id) != (occasion.kind, occasion.id):
        abort(404)
    return device


@bp.route(
    "/sessions/<int:session_id>/links/<int:device_id>/<any(confirm, undo):decision>",
    methods=["POST"],
)
@roles_required(*RUNNERS)
def decide_link(session_id: int, device_id: int, decision: str):
    """Confirm a phone linked at this session as the person's own, or undo the link (and,
    when asked, correct the person's record here to absent, with a reason)."""
    occasion = _occasion(session_id)
    device = _new_link(occasion, device_id)
    BaseForm().validate_on_submit() or abort(400)
    name, now = device.person.full_name, utcnow()
    with attempt() as refused:
        if decision == "confirm":
            phones.confirm_link(device, actor=current_user, now=now, occasion=occasion)
        else:
            phones.undo_link(
                device,
                actor=current_user,
                now=now,
                occasion=occasion,
                mark_absent=request.form.get("absent") == "1",
                reason=clean(request.form.get("reason")),
            )
    if decision == "confirm":
        return _answer(occasion, refused, _("The phone of %(name)s is confirmed.", name=name))
    return _answer(occasion, refused, _("That phone no longer checks in for %(name)s.", name=name))


# --- the roster ---------------------------------------------------------------------------------


@bp.route("/sessions/<int:session_id>/roster")
@roles_required(*RUNNERS)
def roster(session_id: int):
    """Everyone expected, one tap to mark present, late, absent or excused."""
    occasion = _occasion(session_id)
    source = Method.PAPER if request.args.get("source") == Method.PAPER else Method.ROSTER
    return _roster_page(occasion, source)


def _roster_page(
    occasion: SessionOccasion,
    source: Method,
    refused: Refusal | None = None,
    person: Person | None = None,
    wanted: Status | None = None,
) -> str:
    """The roster; after a tap without JavaScript that was refused, the refusal is shown in
    ``person``'s row (with the status they ``wanted``) and in a summary at the top."""
    rows = roster_rows(occasion, with_changes=True)
    if not all(person.learner_code for person, _record in rows):
        phones.ensure_learner_codes([person for person, _record in rows])
        db.session.commit()
        rows = roster_rows(occasion, with_changes=True)  # the commit expired them
    return render_template(
        "checkin/roster.html",
        occasion=occasion,
        session=occasion.session,
        rows=rows,
        now=utcnow(),
        source=source,
        refusal=refused,
        refused_person=person,
        wanted=wanted,
        **LABELS,
    )


@bp.route("/sessions/<int:session_id>/roster/<int:person_id>", methods=["POST"])
@roles_required(*RUNNERS)
def mark(session_id: int, person_id: int):
    """One tap on the roster: the person's status (a correction of an earlier record needs a
    reason); the row again for htmx, else the roster with a message."""
    occasion = _occasion(session_id)
    person = db.session.get(Person, person_id)
    if person is None or person.commune_id != occasion.commune_id:
        abort(404)
    form = MarkForm()
    if not form.validate_on_submit():
        abort(400)
    source, status = Method(form.source.data or Method.ROSTER), Status(form.status.data)
    with attempt() as refused:
        services.set_status(
            occasion,
            person,
            status,
            actor=current_user,
            now=utcnow(),
            reason=form.reason.data or "",
            method=source,
        )
    if htmx.is_htmx():
        return _roster_row(occasion, person, source, refused, status)
    if refused:  # the roster again (no redirect), the message in the person's row
        return _roster_page(occasion, source, refused, person, status), refused.status
    return _back_to_roster(occasion, person, source, status)


def _back_to_roster(occasion: SessionOccasion, person: Person, source: Method, status: Status):
    """The roster again, at the person's row, with what became of the tap."""
    flash(_("%(name)s: %(status)s", name=person.full_name, status=STATUS_LABELS[status]))
    back = url_for(
        ".roster", session_id=occasion.id, source=source if source == Method.PAPER else None
    )
    return redirect(back + f"#person-{person.id}")


def _roster_row(
    occasion: SessionOccasion, person: Person, source: Method, refused: Refusal, wanted: Status
):
    """The person's row of the roster, with their record (and the refusal of the tap on it)."""
    return render_template(
        "checkin/_roster_row.html",
        occasion=occasion,
        person=person,
        record=services.record_of(occasion, person),
        refused=refused,
        wanted=wanted,
        source=source,
        **LABELS,
    )


# --- corrections ------------------------------------------------------------------------------


@bp.route("/attendance/<int:record_id>/correct", methods=["GET", "POST"])
@roles_required(*RUNNERS)
def correct(record_id: int):
    """Change a record with a reason; the page shows every earlier change."""
    record = db.session.get(Attendance, record_id)
    if record is None or record.occasion_kind != SessionOccasion.kind:
        abort(404)
    occasion = _occasion(record.occasion_id)
    form = CorrectForm(obj=record) if request.method == "GET" else CorrectForm()
    if form.validate_on_submit():
        with attempt(form) as refused:
            services.correct(
                record,
                Status(form.status.data),
                actor=current_user,
                now=utcnow(),
                reason=form.reason.data,
            )
        if not refused:
            flash(_("The record of %(name)s was corrected.", name=record.person.full_name))
            return redirect(url_for(".roster", session_id=occasion.id))
    page = render_template(
        "checkin/correct.html",
        record=record,
        occasion=occasion,
        form=form,
        session=occasion.session,
        **LABELS,
    )
    return page, page_status(form)


# --- remembered phones ------------------------------------------------------------------------


@bp.route("/devices/<int:device_id>/confirm", methods=["POST"])
@roles_required(*RUNNERS)
def confirm_device(device_id: int):
    """Confirm that a remembered phone is the person's own (e.g. a link made before links
    were confirmed at the session): its quiz passes count."""
    device = db.session.get(Device, device_id)
    if device is None or people_queries.get_person(current_user, device.person_id) is None:
        abort(404)
    BaseForm().validate_on_submit() or abort(400)
    with attempt(flashed=True) as refused:
        phones.confirm_link(device, actor=current_user, now=utcnow())
    if not refused:
        flash(_("The phone of %(name)s is confirmed.", name=device.person.full_name))
    return redirect(url_for("checkin_records.person", person_id=device.person_id))


@bp.route("/devices/<int:device_id>/revoke", methods=["POST"])
@roles_required(*RUNNERS)
def revoke_device(device_id: int):
    """Stop a remembered phone from checking in for the person (lost or shared phone)."""
    device = db.session.get(Device, device_id)
    if device is None or people_queries.get_person(current_user, device.person_id) is None:
        abort(404)
    BaseForm().validate_on_submit() or abort(400)
    phones.revoke(device, actor=current_user, now=utcnow())
    db.session.commit()
    flash(_("That phone can no longer check in for %(name)s.", name=device.person.full_name))
    return redirect(url_for("checkin_records.person", person_id=device.person_id))
