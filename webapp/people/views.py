"""People pages: search list, person detail, create/edit, household.

Read by the staff of the commune, each within their scope (a village lead: their village);
not by mentors, who are volunteers (see ``people.queries.scope_people``)."""

from dataclasses import fields

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp import htmx
from webapp.extensions import db
from webapp.forms import attempt
from webapp.ids import query_int, row_id
from webapp.people import audit, queries, services, visibility
from webapp.people.forms import HouseholdForm, PeopleSearchForm, PersonForm
from webapp.people.models import (
    DISABILITY_LABELS,
    SEGMENT_LABELS,
    SEX_LABELS,
    TARGET_GROUP_LABELS,
)
from webapp.permissions import CARD_PRINTERS, PEOPLE_READERS, Role, roles_required
from webapp.timeutil import utcnow

bp = Blueprint("people", __name__)

LABELS = {
    "groups": TARGET_GROUP_LABELS,
    "segments": SEGMENT_LABELS,
    "disabilities": DISABILITY_LABELS,
    "sexes": SEX_LABELS,
}


def _page_of(stmt):
    """The page of results asked for by ``?page=`` (the first page for a bad value)."""
    return db.paginate(
        stmt,
        page=query_int("page", 1),
        per_page=current_app.config["PEOPLE_PER_PAGE"],
        error_out=False,
    )


@bp.get("/people")
@roles_required(*PEOPLE_READERS)
def index():
    """Search people; htmx asks for the results fragment only."""
    villages = queries.villages_for(current_user)
    form = PeopleSearchForm(
        request.args, villages=villages, segments=visibility.segment_choices(current_user)
    )
    form.validate()
    now = utcnow()
    stmt = queries.search_people(
        current_user,
        now=now,
        text=form.q.data or "",
        village_id=_int(form.village.data),
        group=form.group.data if form.group.data in TARGET_GROUP_LABELS else None,
        segment=form.segment.data if form.segment.data in form.allowed_segments else None,
    )
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return htmx.render(
        "people/index.html",
        "people/_results.html",
        form=form,
        page=_page_of(stmt),
        args=args,
        year=now.year,
        can_edit=current_user.role in services.EDITORS,
        village=next((v for v in villages if v.id == _int(form.village.data)), None),
        can_print_cards=current_user.role in CARD_PRINTERS,
        **LABELS,
    )


def _int(value) -> int | None:
    return row_id(value)


@bp.get("/people/<int:person_id>")
@roles_required(*PEOPLE_READERS)
def detail(person_id: int):
    """Everything recorded about one person."""
    person = queries.get_person(current_user, person_id) or abort(404)
    page = render_template(
        "people/detail.html",
        person=person,
        year=utcnow().year,
        can_edit=current_user.role in services.EDITORS,
        can_audit=current_user.role == Role.ADMIN,
        **LABELS,
    )
    _audit_read(audit.AuditAction.VIEW, person=person)
    return page


def _audit_read(action: audit.AuditAction, **shown) -> None:
    """Log (and commit) what this page showed: see :func:`audit.record_read`."""
    audit.record_read(
        actor=current_user,
        now=utcnow(),
        address=request.remote_addr,
        action=action,
        what=request.endpoint,
        **shown,
    )


def _form_input(form: PersonForm) -> services.PersonInput:
    return services.PersonInput(**{f.name: form[f.name].data for f in fields(services.PersonInput)})


def _save(form: PersonForm, person=None):
    """Validate and save (committed); returns the person, or None with errors put on the form."""
    if not form.validate_on_submit():
        return None
    with attempt(form) as refused:
        if person is None:
            person = services.create_person(
                actor=current_user,
                now=utcnow(),
                data=_form_input(form),
                allow_duplicate=form.allow_duplicate.data,
                address=request.remote_addr or "",
            )
        else:
            services.update_person(
                actor=current_user,
                now=utcnow(),
                person=person,
                data=_form_input(form),
                address=request.remote_addr or "",
            )
    if refused:
        if refused.error.code == "duplicate_person":
            form.show_duplicate_confirm = True
        return None
    return person


def _status(form) -> int:
    """400 for a form with mistakes or a refused change, else 200."""
    return 400 if form.errors else 200


@bp.route("/people/new", methods=["GET", "POST"])
@roles_required(*services.EDITORS)
def create():
    """Register a new person."""
    form = PersonForm(villages=queries.villages_for(current_user))
    person = _save(form)
    if person is not None:
        flash(_("%(name)s has been registered.", name=person.full_name), "success")
        return redirect(url_for("people.detail", person_id=person.id))
    return render_template("people/form.html", form=form, person=None), _status(form)


@bp.route("/people/<int:person_id>/edit", methods=["GET", "POST"])
@roles_required(*services.EDITORS)
def edit(person_id: int):
    """Change a person's record."""
    person = queries.get_person(current_user, person_id) or abort(404)
    villages = queries.villages_for(current_user)
    if request.method == "GET":
        form = PersonForm(obj=services.input_from(person), villages=villages)
    else:
        form = PersonForm(villages=villages)
    if _save(form, person) is not None:
        flash(_("Changes to %(name)s saved.", name=person.full_name), "success")
        return redirect(url_for("people.detail", person_id=person.id))
    return render_template("people/form.html", form=form, person=person), _status(form)


@bp.get("/households/<int:household_id>")
@roles_required(*PEOPLE_READERS)
def household(household_id: int):
    """A household and its members."""
    found = queries.get_household(current_user, household_id) or abort(404)
    page = render_template(
        "people/household.html",
        household=found,
        year=utcnow().year,
        can_edit=current_user.role in services.EDITORS,
        **LABELS,
    )
    _audit_read(audit.AuditAction.VIEW, people=found.members)
    return page


@bp.route("/households/<int:household_id>/edit", methods=["GET", "POST"])
@roles_required(*services.EDITORS)
def household_edit(household_id: int):
    """Change a household's address and poor-household status."""
    found = queries.get_household(current_user, household_id) or abort(404)
    form = HouseholdForm(obj=found)
    if form.validate_on_submit():
        with attempt(form) as refused:
            services.update_household(
                actor=current_user,
                now=utcnow(),
                household=found,
                address=form.address.data or "",
                is_poor=form.is_poor.data,
                client_address=request.remote_addr or "",
            )
        if not refused:
            flash(_("Household %(code)s saved.", code=found.code), "success")
            return redirect(url_for("people.household", household_id=found.id))
    return render_template("people/household_form.html", form=form, household=found), _status(form)
