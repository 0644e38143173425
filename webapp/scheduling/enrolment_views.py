"""Enrolment of learners: the roster and waiting list, search-and-enrol (one person or a whole
household), withdrawal with a reason, and the sign-up requests from the public class page.

Only the class's trainers and the commune's organisers (and admins) see these pages: they
show learners' names and phone numbers.
"""

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from webapp import htmx
from webapp.extensions import db
from webapp.forms import attempt
from webapp.people import queries as people_queries
from webapp.people.consent import processable
from webapp.people.models import Person
from webapp.permissions import roles_required
from webapp.scheduling import enrolment as rules
from webapp.scheduling import queries, services
from webapp.scheduling.forms import ConfirmSignupForm, DecisionForm, EnrolForm, WithdrawForm
from webapp.scheduling.models import (
    CLASS_STATUS_LABELS,
    CourseClass,
    Enrolment,
    EnrolmentStatus,
    SignupRequest,
)
from webapp.text import clean
from webapp.timeutil import utcnow

bp = Blueprint("enrolment", __name__)

RUNNERS = services.PLANNERS  # and then only the class's own trainers: services.require_runner
SEARCH_LIMIT = 20


# --- helpers ---------------------------------------------------------------------------------


def _search(course_class: CourseClass, text: str):
    """People of the user's scope matching ``text`` (none for an empty search)."""
    if not clean(text):
        return [], {}
    stmt = people_queries.search_people(current_user, now=utcnow(), text=text)
    stmt = stmt.where(processable())  # not who withdrew consent, is restricted or erased
    # Each result shows its village and household: loaded with the page, not row by row.
    stmt = stmt.options(selectinload(Person.village), selectinload(Person.household))
    people = list(db.session.scalars(stmt.limit(SEARCH_LIMIT)))
    return people, queries.statuses_in_class(course_class, [p.id for p in people])


def _manage_page(
    course_class: CourseClass, *, status: int = 200, problem=None, withdraw_error=None
):
    q = clean(request.values.get("q"))
    people, in_class = _search(course_class, q)
    enrolled, waiting = queries.roster(course_class)
    response = htmx.render(
        "scheduling/enrolment_manage.html",
        "scheduling/_enrolment_search.html",
        course_class=course_class,
        enrolled=enrolled,
        waiting=waiting,
        q=q,
        people=people,
        in_class=in_class,
        limit=SEARCH_LIMIT,
        problem=problem,
        withdraw_error=withdraw_error or {},
        status_labels=CLASS_STATUS_LABELS,
    )
    response.status_code = status
    return response


def _position(enrolment: Enrolment) -> int:
    """1 for the first person on the waiting list, and so on."""
    _, waiting = queries.roster(enrolment.course_class)
    return next((i for i, e in enumerate(waiting, 1) if e.id == enrolment.id), 0)


def _announce(enrolment: Enrolment) -> None:
    name = enrolment.person.full_name
    if enrolment.status == EnrolmentStatus.ENROLLED:
        flash(_("%(name)s is enrolled.", name=name), "success")
    else:
        flash(
            _(
                "The class is full: %(name)s is number %(position)d on the waiting list.",
                name=name,
                position=_position(enrolment),
            ),
            "success",
        )


# --- roster and enrolling ----------------------------------------------------------------------


@bp.route("/classes/<int:class_id>/enrolment", methods=["GET", "POST"])
@roles_required(*RUNNERS)
def manage(class_id: int):
    """The roster and waiting list, with a people search to enrol from (htmx asks for the
    search results only). Posting enrols one person or a whole household."""
    course_class = queries.get_class(current_user, class_id, for_running=True)
    if request.method == "GET":
        return _manage_page(course_class)
    form = EnrolForm()
    if not form.validate_on_submit() or not (form.person_id.data or form.household_id.data):
        return _manage_page(course_class, status=422, problem=_("Choose a person to enrol."))
    with attempt() as refused:
        household, added = _enrol_chosen(form, course_class, utcnow())
    if refused:
        return _manage_page(course_class, status=refused.status, problem=refused.message)
    if household is not None:
        _announce_household(household, added)
    else:
        _announce(added[0])
    return redirect(url_for(".manage", class_id=class_id, q=clean(form.q.data) or None))


def _enrol_chosen(form: EnrolForm, course_class: CourseClass, now: datetime):
    """Enrol the household or the person the form names (404 for one the user may not see):
    (the household or None, the new enrolments)."""
    if form.household_id.data:
        household = people_queries.get_household(current_user, form.household_id.data)
        if household is None:
            abort(404)
        added = rules.enrol_household(
            actor=current_user, now=now, course_class=course_class, household=household
        )
        return household, added
    person = people_queries.get_person(current_user, form.person_id.data)
    if person is None:
        abort(404)
    return None, [
        rules.enrol(actor=current_user, now=now, course_class=course_class, person=person)
    ]


def _announce_household(household, added: list[Enrolment]) -> None:
    if not added:
        flash(
            _("Everyone in household %(code)s is already in this class.", code=household.code),
            "success",
        )
        return
    seated = sum(1 for e in added if e.status == EnrolmentStatus.ENROLLED)
    flash(
        _(
            "Household %(code)s: %(enrolled)d enrolled, %(waiting)d on the waiting list.",
            code=household.code,
            enrolled=seated,
            waiting=len(added) - seated,
        ),
        "success",
    )


@bp.post("/enrolments/<int:enrolment_id>/withdraw")
@roles_required(*RUNNERS)
def withdraw(enrolment_id: int):
    """Take a learner (or a waiting person) out of the class, with a reason; the first
    person waiting gets the freed seat, and the page says who."""
    enrolment = queries.get_enrolment(current_user, enrolment_id)
    course_class = enrolment.course_class
    form = WithdrawForm()
    if not form.validate_on_submit():
        message = " ".join(map(str, form.reason.errors)) or _(
            "The form has expired; please try again."
        )
        return _manage_page(
            course_class, status=422, problem=message, withdraw_error={enrolment.id: message}
        )
    name = enrolment.person.full_name
    with attempt() as refused:
        promoted = rules.unenrol(
            actor=current_user, now=utcnow(), enrolment=enrolment, reason=form.reason.data
        )
    if refused:
        return _manage_page(course_class, status=refused.status, problem=refused.message)
    flash(_("%(name)s has left the class.", name=name), "success")
    if promoted is not None:
        flash(
            _(
                "%(name)s moves up from the waiting list and now has a seat.",
                name=promoted.person.full_name,
            ),
            "success",
        )
    return redirect(url_for(".manage", class_id=course_class.id))


# --- sign-up requests from the public class page -----------------------------------------------


@bp.get("/classes/<int:class_id>/signups")
@roles_required(*RUNNERS)
def signups(class_id: int):
    """Pending sign-up requests, each with the registered person it surely is, or the people
    it may be (to choose from, or register a new person)."""
    course_class = queries.get_class(current_user, class_id, for_running=True)
    pending = queries.pending_signups(course_class)
    return render_template(
        "scheduling/enrolment_signups.html",
        course_class=course_class,
        pending=pending,
        matches=rules.signup_matches(pending),
        new_choice=ConfirmSignupForm.NEW,
    )


@bp.post("/signups/<int:signup_id>/confirm")
@roles_required(*RUNNERS)
def signup_confirm(signup_id: int):
    """Accept a request: enrol the registered person chosen (or the one it surely is), or
    register a new person and enrol them. When the request may be one of several registered
    people, the trainer must say which (or "a new person")."""
    signup = queries.get_signup(current_user, signup_id)
    form = ConfirmSignupForm()
    if not form.validate_on_submit():
        abort(400)
    match = rules.signup_matches([signup])[signup.id]
    person = None
    if form.chose_person():
        person_id = form.chosen_id()
        person = db.session.get(Person, person_id) if person_id else None
        if person is None:
            abort(404)
    elif match.possible and match.exact is None and not form.chose_new():
        return _ask_who_it_is(signup)
    is_new = person is None and match.exact is None
    with attempt(flashed=True) as refused:
        enrolment = rules.confirm_signup(
            actor=current_user, now=utcnow(), signup=signup, person=person
        )
    if refused:
        return _back_to_signups(signup)
    if is_new:
        flash(_("%(name)s has been registered.", name=enrolment.person.full_name), "success")
    _announce(enrolment)
    return _back_to_signups(signup)


def _back_to_signups(signup: SignupRequest, anchor: str | None = None):
    return redirect(url_for(".signups", class_id=signup.class_id, _anchor=anchor))


def _ask_who_it_is(signup: SignupRequest):
    """Back to a request that may be one of several registered people: say which."""
    flash(
        _(
            "Choose who %(name)s is: one of the registered people shown, or a new person.",
            name=signup.full_name,
        ),
        "error",
    )
    return _back_to_signups(signup, f"signup-{signup.id}")


@bp.post("/signups/<int:signup_id>/reject")
@roles_required(*RUNNERS)
def signup_reject(signup_id: int):
    """Decline a request."""
    signup = queries.get_signup(current_user, signup_id)
    if not DecisionForm().validate_on_submit():
        abort(400)
    with attempt(flashed=True) as refused:
        rules.reject_signup(actor=current_user, now=utcnow(), signup=signup)
    if not refused:
        flash(_("The request of %(name)s was declined.", name=signup.full_name), "success")
    return _back_to_signups(signup)
