"""The mentoring network's management pages (organisers, village leads): mentors, their
mentees, assigning, ending and reassigning.

Everything is loaded through the scoped loaders of :mod:`webapp.mentoring.queries` and
:mod:`webapp.people.queries`: a village lead sees and manages only their village. Mentors
(role mentor) have their own page (/mentor) and get 403 here.
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp import htmx
from webapp.extensions import db
from webapp.forms import attempt, page_status
from webapp.ids import row_id
from webapp.mentoring import queries, services
from webapp.mentoring.access import MENTORING_MANAGERS, can_link_accounts
from webapp.mentoring.forms import (
    AssignForm,
    EndMentorForm,
    EndMentorshipForm,
    LinkAccountForm,
    MentorForm,
    NewMentorForm,
    ReassignForm,
)
from webapp.mentoring.models import END_REASON_LABELS, ORGANISATION_LABELS, Mentor
from webapp.people import queries as people_queries
from webapp.people.consent import processable
from webapp.people.models import SEGMENT_LABELS, Person
from webapp.permissions import MANAGERS, roles_required
from webapp.text import clean
from webapp.timeutil import to_local, utcnow

bp = Blueprint("mentoring", __name__)

SEARCH_LIMIT = 20


# --- helpers ---------------------------------------------------------------------------------


def _mentor_list(status: str) -> list[Mentor]:
    """The mentors of the user's scope, active or ended, in Vietnamese name order."""
    stmt = (
        queries.scope_mentors(select(Mentor), current_user)
        .join(Person, Person.id == Mentor.person_id)
        .where(Mentor.active if status == "active" else Mentor.ended_at.is_not(None))
        .options(selectinload(Mentor.person).selectinload(Person.village))
        .options(selectinload(Mentor.village))
        .order_by(Person.sort_key, Mentor.id)
    )
    return list(db.session.scalars(stmt))


def _search(text: str) -> tuple[list[Person], dict]:
    """People of the user's scope matching ``text`` (none for an empty search), and the
    active mentorship of those who have one."""
    if not clean(text):
        return [], {}
    stmt = people_queries.search_people(current_user, now=utcnow(), text=text)
    stmt = stmt.where(processable())  # not who withdrew consent, is restricted or erased
    people = list(db.session.scalars(stmt.limit(SEARCH_LIMIT)))
    return people, queries.active_mentorships_of(p.id for p in people)


def _other_mentors(mentor: Mentor) -> list[Mentor]:
    """The active mentors of the user's scope a mentee could be given to instead."""
    return [m for m in _mentor_list("active") if m.id != mentor.id]


def _form_problem(form) -> str:
    """The first mistake of a posted form (a missing CSRF token: the page has expired)."""
    for field in form:
        if field.errors:
            return " ".join(map(str, field.errors))
    return _("The form has expired; please try again.")


def _villages():
    return people_queries.villages_for(current_user)


def _back(mentor_id: int, q: str | None = None):
    return redirect(url_for(".mentor", mentor_id=mentor_id, q=clean(q) or None))


# --- the list and making mentors -------------------------------------------------------------


@bp.get("/mentoring/mentors")
@roles_required(*MENTORING_MANAGERS)
def mentors():
    """The mentors of the user's scope with their active mentee counts and flags; a warning
    for a commune without a counter helper at the public-service centre."""
    status = "ended" if clean(request.args.get("status")) == "ended" else "active"
    found = _mentor_list(status)
    counts = queries.active_mentee_counts(m.id for m in found)
    communes = people_queries.communes_for(current_user)
    return render_template(
        "mentoring/mentors.html",
        mentors=found,
        counts=counts,
        under={m.id: services.under_minimum(m, counts.get(m.id, 0)) for m in found},
        minimum=services.mentee_minimum(),
        without_helper=[c for c in communes if not queries.has_counter_helper(c.id)],
        status=status,
        organisations=ORGANISATION_LABELS,
    )


def _new_mentor_page(form: NewMentorForm, status: int = 200):
    q = clean(request.values.get("q"))
    people, _mentored = _search(q)
    chosen_id = form.person_id.data or row_id(request.args.get("person_id"))
    chosen = people_queries.get_person(current_user, chosen_id) if chosen_id else None
    if chosen is not None:
        form.person_id.data = chosen.id
    ids = [p.id for p in people]
    mentors_now = select(Mentor.person_id).where(Mentor.person_id.in_(ids), Mentor.active)
    response = htmx.render(
        "mentoring/mentor_form.html",
        "mentoring/manage_person_search.html",
        form=form,
        q=q,
        people=people,
        mentors_now=set(db.session.scalars(mentors_now)) if ids else set(),
        chosen=chosen,
        limit=SEARCH_LIMIT,
    )
    response.status_code = status
    return response


@bp.route("/mentoring/mentors/new", methods=["GET", "POST"])
@roles_required(*MENTORING_MANAGERS)
def mentor_new():
    """Make a registered person a mentor: search for them (htmx asks for the results only),
    choose them, then their organisation, village and counter-helper mark."""
    form = NewMentorForm(villages=_villages())
    if request.method == "GET" or not form.validate_on_submit():
        return _new_mentor_page(form, 200 if request.method == "GET" else 422)
    person = people_queries.get_person(current_user, form.person_id.data)
    if person is None:
        abort(404)
    with attempt(form) as refused:
        mentor = services.make_mentor(
            actor=current_user,
            now=utcnow(),
            person=person,
            organisation=form.organisation.data,
            village_id=form.village_id.data,
            counter_helper=form.counter_helper.data,
        )
    if refused:
        return _new_mentor_page(form, page_status(form, refused))
    flash(_("%(name)s is now a mentor.", name=person.full_name), "success")
    return redirect(url_for(".mentor", mentor_id=mentor.id))


# --- one mentor --------------------------------------------------------------------------------


@bp.get("/mentoring/mentors/<int:mentor_id>")
@roles_required(*MENTORING_MANAGERS)
def mentor(mentor_id: int):
    """The mentor, their active mentees (end or reassign each), the history, the
    under-minimum flag with suggestions, and a search to assign a person or a household."""
    mentor = queries.get_mentor(current_user, mentor_id)
    q = clean(request.args.get("q"))
    people, mentored = _search(q)
    context = dict(mentor=mentor, q=q, people=people, mentored=mentored, limit=SEARCH_LIMIT)
    if not htmx.is_htmx():  # the search results alone need nothing more
        context |= _mentor_page_parts(mentor)
    return htmx.render("mentoring/mentor.html", "mentoring/manage_assign_search.html", **context)


def _mentor_page_parts(mentor: Mentor) -> dict:
    """What the mentor page shows beside the search: the lists, the flags, the forms."""
    mentorships = queries.mentorships_of_mentor(current_user, mentor)
    count = queries.active_mentee_count(mentor)
    under = services.under_minimum(mentor, count)
    linking = can_link_accounts(current_user, mentor.commune_id)
    logins = queries.mentor_logins(mentor.commune_id) if linking else []
    link_form = LinkAccountForm(logins=logins, data={"user_id": mentor.user_id})
    return dict(
        active=[m for m in mentorships if m.active],
        history=sorted(
            (m for m in mentorships if not m.active), key=lambda m: m.ended_at, reverse=True
        ),
        count=count,
        under=under,
        minimum=services.mentee_minimum(),
        suggestions=services.suggestions(mentor, now=utcnow()) if under else [],
        others=_other_mentors(mentor) if mentor.active else [],
        link_form=link_form if linking else None,
        end_form=EndMentorForm(),
        organisations=ORGANISATION_LABELS,
        reasons=END_REASON_LABELS,
        end_reasons=EndMentorshipForm().reason.choices,
        segments=SEGMENT_LABELS,
        year=to_local(utcnow()).year,
    )


def _mentor_form_page(form: MentorForm, mentor: Mentor, status: int = 200):
    page = render_template("mentoring/mentor_form.html", form=form, mentor=mentor, chosen=None)
    return page, status


@bp.route("/mentoring/mentors/<int:mentor_id>/edit", methods=["GET", "POST"])
@roles_required(*MENTORING_MANAGERS)
def mentor_edit(mentor_id: int):
    """Change a mentor's organisation, village and counter-helper mark."""
    mentor = queries.get_mentor(current_user, mentor_id, for_managing=True)
    form = MentorForm(villages=_villages(), obj=mentor)
    if request.method == "GET" or not form.validate_on_submit():
        return _mentor_form_page(form, mentor, 200 if request.method == "GET" else 422)
    with attempt(form) as refused:
        services.update_mentor(
            actor=current_user,
            now=utcnow(),
            mentor=mentor,
            organisation=form.organisation.data,
            village_id=form.village_id.data,
            counter_helper=form.counter_helper.data,
        )
    if refused:
        return _mentor_form_page(form, mentor, page_status(form, refused))
    flash(_("The details of %(name)s are saved.", name=mentor.person.full_name), "success")
    return _back(mentor.id)


@bp.post("/mentoring/mentors/<int:mentor_id>/end")
@roles_required(*MENTORING_MANAGERS)
def mentor_end(mentor_id: int):
    """The person stops mentoring; their mentees become unmatched (history kept)."""
    mentor = queries.get_mentor(current_user, mentor_id, for_managing=True)
    form = EndMentorForm()
    if not form.validate_on_submit():
        flash(_form_problem(form), "error")
        return _back(mentor.id)
    with attempt(flashed=True) as refused:
        ended = services.end_mentor(
            actor=current_user, now=utcnow(), mentor=mentor, note=form.note.data
        )
    if not refused:
        flash(
            ngettext(
                "%(name)s is no longer a mentor; %(num)d mentee now has no mentor.",
                "%(name)s is no longer a mentor; %(num)d mentees now have no mentor.",
                len(ended),
                name=mentor.person.full_name,
            ),
            "success",
        )
    return _back(mentor.id)


@bp.post("/mentoring/mentors/<int:mentor_id>/link")
@roles_required(*MANAGERS)
def mentor_link(mentor_id: int):
    """Link the mentor's log-in (role mentor, same commune), or unlink it."""
    mentor = queries.get_mentor(current_user, mentor_id, for_managing=True)
    logins = queries.mentor_logins(mentor.commune_id)
    form = LinkAccountForm(logins=logins)
    if not form.validate_on_submit():
        flash(_form_problem(form), "error")
        return _back(mentor.id)
    user = next((u for u in logins if u.id == form.user_id.data), None)
    with attempt(flashed=True) as refused:
        services.link_account(actor=current_user, now=utcnow(), mentor=mentor, user=user)
    if not refused and user is not None:
        flash(
            _(
                "%(name)s signs in as %(username)s.",
                name=mentor.person.full_name,
                username=user.username,
            ),
            "success",
        )
    elif not refused:
        flash(_("%(name)s has no log-in now.", name=mentor.person.full_name), "success")
    return _back(mentor.id)


# --- mentorships -----------------------------------------------------------------------------


@bp.post("/mentoring/mentors/<int:mentor_id>/assign")
@roles_required(*MENTORING_MANAGERS)
def assign(mentor_id: int):
    """Give the mentor one person, or every member of a household who has no mentor yet
    (the others are reported with the reason)."""
    mentor = queries.get_mentor(current_user, mentor_id, for_managing=True)
    form = AssignForm()
    if not form.validate_on_submit() or not (form.person_id.data or form.household_id.data):
        flash(_form_problem(form) if form.errors else _("Choose a person to assign."), "error")
        return _back(mentor.id, form.q.data)
    with attempt(flashed=True):
        _assign_chosen(form, mentor)
    return _back(mentor.id, form.q.data)


def _assign_chosen(form: AssignForm, mentor: Mentor) -> None:
    """Assign the household or the person the form names (404 for one the user may not
    see) and say what was done."""
    now = utcnow()
    if form.household_id.data:
        household = people_queries.get_household(current_user, form.household_id.data)
        if household is None:
            abort(404)
        result = services.assign_household(
            actor=current_user, now=now, mentor=mentor, household=household
        )
        _announce_household(household, result)
        return
    person = people_queries.get_person(current_user, form.person_id.data)
    if person is None:
        abort(404)
    services.assign(actor=current_user, now=now, mentor=mentor, person=person)
    flash(
        _(
            "%(name)s now has %(mentor)s as mentor.",
            name=person.full_name,
            mentor=mentor.person.full_name,
        ),
        "success",
    )


def _announce_household(household, result: services.HouseholdAssignment) -> None:
    flash(
        ngettext(
            "Household %(code)s: %(num)d person assigned.",
            "Household %(code)s: %(num)d people assigned.",
            len(result.assigned),
            code=household.code,
        ),
        "success",
    )
    for skipped in result.skipped:
        flash(_("Not assigned: %(message)s", message=skipped.message), "error")


@bp.post("/mentoring/mentorships/<int:mentorship_id>/end")
@roles_required(*MENTORING_MANAGERS)
def mentorship_end(mentorship_id: int):
    """End a mentorship with a reason (finished, moved away, stopped) and a note."""
    mentorship = queries.get_mentorship(current_user, mentorship_id, for_managing=True)
    form = EndMentorshipForm()
    if not form.validate_on_submit():
        flash(_form_problem(form), "error")
        return _back(mentorship.mentor_id)
    with attempt(flashed=True) as refused:
        services.end_mentorship(
            actor=current_user,
            now=utcnow(),
            mentorship=mentorship,
            reason=form.reason.data,
            note=form.note.data,
        )
    if not refused:
        flash(
            _("The mentorship of %(name)s has ended.", name=mentorship.person.full_name), "success"
        )
    return _back(mentorship.mentor_id)


@bp.post("/mentoring/mentorships/<int:mentorship_id>/reassign")
@roles_required(*MENTORING_MANAGERS)
def mentorship_reassign(mentorship_id: int):
    """Give the mentee to another mentor; the old mentorship ends as "reassigned"."""
    mentorship = queries.get_mentorship(current_user, mentorship_id, for_managing=True)
    form = ReassignForm()
    if not form.validate_on_submit():
        flash(_form_problem(form), "error")
        return _back(mentorship.mentor_id)
    new_mentor = queries.get_mentor(current_user, form.new_mentor_id.data, for_managing=True)
    old_mentor_id = mentorship.mentor_id
    with attempt(flashed=True) as refused:
        services.reassign(
            actor=current_user,
            now=utcnow(),
            mentorship=mentorship,
            new_mentor=new_mentor,
            note=form.note.data,
        )
    if not refused:
        flash(
            _(
                "%(name)s now has %(mentor)s as mentor.",
                name=mentorship.person.full_name,
                mentor=new_mentor.person.full_name,
            ),
            "success",
        )
    return _back(old_mentor_id)
