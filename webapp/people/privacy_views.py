"""A person's data rights (docs/personal-data.md): consent (paper form printed, received,
withdrawn), requests with deadlines (access, correction, restriction, erasure, withdrawal),
the access export (PDF and JSON).

Every person is loaded through ``people.queries.get_person`` (the reader's scope: a village
lead sees their village only, 404 outside). Consent: the staff who edit people
(``services.EDITORS``); requests, exports and erasure: managers (admins, organisers).
"""

import json

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from webapp.extensions import db
from webapp.forms import attempt
from webapp.people import audit, consent, requests, services, subject_export
from webapp.people.models import Household, Person
from webapp.people.privacy_forms import CHANNEL_LABELS, ActionForm, PaperConsentForm, RequestForm
from webapp.people.privacy_models import (
    AUDIT_ACTION_LABELS,
    CONSENT_METHOD_LABELS,
    REQUEST_KIND_LABELS,
    AuditAction,
    ConsentMethod,
    DataRequest,
)
from webapp.people.queries import get_household, get_person
from webapp.permissions import MANAGERS, roles_required
from webapp.timeutil import utcnow

bp = Blueprint("privacy", __name__)


def _person(person_id: int) -> Person:
    return get_person(current_user, person_id) or abort(404)


def _address() -> str:
    return request.remote_addr or ""


def _back(person: Person):
    return redirect(url_for("privacy.person", person_id=person.id))


def _button(person: Person, action, done: str):
    """A button's POST (CSRF only): do ``action(actor=, now=, address=)``; commit and say
    ``done``, or flash the refusal; back to the person's page."""
    if ActionForm().validate_on_submit():
        with attempt(flashed=True) as refused:
            action(actor=current_user, now=utcnow(), address=_address())
        if not refused:
            db.session.commit()
            flash(done, "success")
    return _back(person)


def _labels() -> dict:
    return dict(
        methods=CONSENT_METHOD_LABELS,
        kinds=REQUEST_KIND_LABELS,
        channels=CHANNEL_LABELS,
        actions=AUDIT_ACTION_LABELS,
        consent_form=PaperConsentForm(),
        request_form=RequestForm(),
        action_form=ActionForm(),
    )


@bp.get("/people/<int:person_id>/privacy")
@roles_required(*services.EDITORS)
def person(person_id: int):
    """Consent, requests and the access export of one person."""
    found = _person(person_id)
    now = utcnow()
    manager = current_user.role in MANAGERS
    page = render_template(
        "people/privacy.html",
        person=found,
        now=now,
        notice=consent.current_notice(),
        active=consent.active(found),
        consents=consent.history(found),
        why_not=consent.why_not_processed(found),
        requests=requests.for_person(found) if manager else [],
        can_manage=manager,
        **_labels(),
    )
    audit.record_read(
        actor=current_user,
        now=now,
        address=_address(),
        action=AuditAction.VIEW,
        what="privacy.person",
        person=found,
    )
    return page


@bp.post("/people/<int:person_id>/consent")
@roles_required(*services.EDITORS)
def record_consent(person_id: int):
    """The signed paper form came back: record the consent with the date written on it."""
    found = _person(person_id)
    form = PaperConsentForm()
    if form.validate_on_submit():
        with attempt(form, flashed=True) as refused:
            consent.give(
                actor=current_user,
                now=utcnow(),
                person=found,
                method=ConsentMethod.PAPER,
                given_on=form.given_on.data,
                address=_address(),
            )
        if not refused:
            db.session.commit()
            flash(_("Consent recorded (signed paper form)."), "success")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
    return _back(found)


@bp.post("/people/<int:person_id>/consent/withdraw")
@roles_required(*services.EDITORS)
def withdraw_consent(person_id: int):
    found = _person(person_id)
    return _button(
        found,
        lambda **who: consent.withdraw(person=found, **who),
        _("Consent withdrawn: the person is no longer processed."),
    )


def _form_page(people: list[Person], title: str):
    now = utcnow()
    audit.record_many(
        actor=current_user,
        now=now,
        action=AuditAction.PRINT,
        what="privacy.consent_form",
        people=people,
        address=_address(),
    )
    db.session.commit()
    return render_template(
        "people/consent_form.html",
        people=people,
        notice=consent.current_notice(),
        title=title,
        now=now,
    )


@bp.get("/people/<int:person_id>/consent/form")
@roles_required(*services.EDITORS)
def consent_form(person_id: int):
    """The consent form to print, sign and bring back (one A4 page)."""
    found = _person(person_id)
    return _form_page([found], found.full_name)


@bp.get("/households/<int:household_id>/consent/form")
@roles_required(*services.EDITORS)
def household_consent_form(household_id: int):
    """One consent form per member of the household (members not erased)."""
    household: Household = get_household(current_user, household_id) or abort(404)
    members = [m for m in household.members if m.erased_at is None]
    if not members:
        abort(404)
    return _form_page(members, household.code)


@bp.post("/people/<int:person_id>/requests")
@roles_required(*MANAGERS)
def open_request(person_id: int):
    found = _person(person_id)
    form = RequestForm()
    if form.validate_on_submit():
        with attempt(form, flashed=True) as refused:
            requests.open_request(
                actor=current_user,
                now=utcnow(),
                person=found,
                kind=form.kind.data,
                channel=form.channel.data,
                hours=current_app.config.get("PRIVACY_REQUEST_HOURS", requests.DEFAULT_HOURS),
                address=_address(),
            )
        if not refused:
            db.session.commit()
            flash(_("Request logged, with its deadline."), "success")
    else:
        flash(_("Choose what the person asks for."), "error")
    return _back(found)


@bp.post("/people/<int:person_id>/requests/<int:request_id>/fulfil")
@roles_required(*MANAGERS)
def fulfil_request(person_id: int, request_id: int):
    found = _person(person_id)
    data_request = requests.get_request(found, request_id) or abort(404)
    return _button(
        found,
        lambda **who: requests.fulfil(request=data_request, person=found, **who),
        _("Request fulfilled."),
    )


@bp.post("/people/<int:person_id>/restriction/lift")
@roles_required(*MANAGERS)
def lift_restriction(person_id: int):
    found = _person(person_id)
    return _button(
        found,
        lambda **who: requests.lift_restriction(person=found, **who),
        _("Processing is allowed again."),
    )


def _export(person_id: int, kind: str):
    found = _person(person_id)
    now = utcnow()
    data = subject_export.gather(found, now=now)
    audit.record(
        actor=current_user,
        now=now,
        action=AuditAction.EXPORT,
        what=f"privacy.export.{kind}",
        person=found,
        address=_address(),
    )
    db.session.commit()
    if kind == "json":
        body = json.dumps(data, ensure_ascii=False, indent=2).encode()
        mimetype = "application/json"
    else:
        body = subject_export.render_pdf(data)
        mimetype = "application/pdf"
    response = current_app.response_class(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="du-lieu-ca-nhan-{found.id}.{kind}"'
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/people/<int:person_id>/export.json")
@roles_required(*MANAGERS)
def export_json(person_id: int):
    """Everything held about the person, as JSON (an access request)."""
    return _export(person_id, "json")


@bp.get("/people/<int:person_id>/export.pdf")
@roles_required(*MANAGERS)
def export_pdf(person_id: int):
    """Everything held about the person, as a readable PDF (an access request)."""
    return _export(person_id, "pdf")


@bp.get("/privacy/requests")
@roles_required(*MANAGERS)
def open_requests():
    """The requests still open in the reader's commune (all communes for the province),
    soonest deadline first."""
    stmt = (
        select(DataRequest)
        .where(DataRequest.fulfilled_at.is_(None))
        .order_by(DataRequest.due_at, DataRequest.id)
    )
    if current_user.commune_id is not None:
        stmt = stmt.where(DataRequest.commune_id == current_user.commune_id)
    return render_template(
        "people/privacy_requests.html",
        requests=list(db.session.scalars(stmt.limit(500))),
        now=utcnow(),
        kinds=REQUEST_KIND_LABELS,
    )
