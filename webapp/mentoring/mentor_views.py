"""The mentor's own pages, on their phone (``/mentor``, the light layout: no script, ≤ 30 KB):
their mentees, logging a meeting in a few taps, the meeting's page (its QR for a mentee's
phone, a learner code, "can do" attestations); and a mentee's one-tap confirmation of a
meeting on their remembered phone (``/hoc``)."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp import qr
from webapp.checkin import cards, phones
from webapp.checkin import services as attendance
from webapp.checkin.learner_views import device_key
from webapp.checkin.models import Method
from webapp.forms import attempt, page_status
from webapp.ids import query_int
from webapp.learning import framework
from webapp.mentoring import meetings, queries
from webapp.mentoring import offline as _offline  # noqa: F401 (registers the "meeting" kind)
from webapp.mentoring.meeting_forms import AttestForm, CardCodeForm, MeetingForm
from webapp.mentoring.mentor_page import meeting_page, mentor_home
from webapp.mentoring.models import MEETING_PLACE_LABELS
from webapp.mentoring.occasion import MeetingOccasion
from webapp.permissions import Role, public, roles_required
from webapp.timeutil import format_date, to_local, utcnow

bp = Blueprint("mentor", __name__)


@bp.get("/mentor")
@roles_required(Role.MENTOR)
def home():
    """My mentees, the most overdue household first, and my latest meetings."""
    page = mentor_home(current_user, now=utcnow())
    return render_template("mentoring/mentor_home.html", page=page, places=MEETING_PLACE_LABELS)


def _meeting_form(now):
    mentees = [m.person for m in queries.my_mentees(current_user)]
    ticked = {query_int("person")} | set(_household_members(mentees))
    names = framework.competency_names(framework.current_version())
    form = MeetingForm(mentees=mentees, competencies=names, now=now, ticked=ticked)
    return form, mentees


def _household_members(mentees) -> list[int]:
    household = query_int("household")
    return [p.id for p in mentees if household and p.household_id == household]


@bp.route("/mentor/meeting/new", methods=["GET", "POST"])
@roles_required(Role.MENTOR)
def new_meeting():
    """Log a meeting: who, did you meet, where, when, how long, skills practised."""
    now = utcnow()
    mentor = queries.mentor_of(current_user) or abort(404)
    form, mentees = _meeting_form(now)
    refused = None
    if form.validate_on_submit():
        with attempt(form) as refused:
            details = form.details(mentees)
            meeting = meetings.log_meeting(
                actor=current_user, now=now, mentor=mentor, details=details
            )
        if not refused:
            flash(_("The meeting is saved."), "success")
            return redirect(url_for("mentor.meeting", meeting_id=meeting.id), 303)
    page = render_template("mentoring/meeting_form.html", form=form, mentees=mentees)
    return page, page_status(form, refused)


def _meeting_page(meeting, *, attest=None, card=None, status=200):
    page = meeting_page(meeting)
    qr_svg = None
    if meeting.held:
        point = attendance.point_for(MeetingOccasion(meeting), now=utcnow())
        url = current_app.config["BASE_URL"] + url_for("checkin_learner.scan", token=point.token)
        qr_svg = qr.inline_svg(url, label=_("QR code for the mentee's phone"))
    return render_template(
        "mentoring/meeting.html",
        page=page,
        places=MEETING_PLACE_LABELS,
        attest=attest or AttestForm(page=page),
        card=card or CardCodeForm(),
        qr_svg=qr_svg,
    ), status


@bp.get("/mentor/meeting/<int:meeting_id>")
@roles_required(Role.MENTOR)
def meeting(meeting_id: int):
    """A meeting: who was there (and confirmed), its QR for a mentee's own phone, a learner
    card's code, and "can do" for the skills practised."""
    return _meeting_page(meetings.get_meeting(current_user, meeting_id, for_logging=True))


@bp.post("/mentor/meeting/<int:meeting_id>/attest")
@roles_required(Role.MENTOR)
def attest(meeting_id: int):
    meeting = meetings.get_meeting(current_user, meeting_id, for_logging=True)
    form = AttestForm(page=meeting_page(meeting))
    if form.validate_on_submit():
        with attempt(form) as refused:
            count = meetings.attest(
                actor=current_user, now=utcnow(), meeting=meeting, pairs=form.pairs()
            )
        if not refused:
            flash(_("Saved: %(num)d skills attested.", num=count), "success")
            return redirect(url_for("mentor.meeting", meeting_id=meeting.id), 303)
    return _meeting_page(meeting, attest=form, status=422)


@bp.post("/mentor/meeting/<int:meeting_id>/present")
@roles_required(Role.MENTOR)
def present(meeting_id: int):
    """The mentor photographs a mentee's learner card (or types its code): they were there."""
    meeting = meetings.get_meeting(current_user, meeting_id, for_logging=True)
    form = CardCodeForm()
    if form.validate_on_submit():
        with attempt(form) as refused:
            code, method = _card_code(form)
            person = meetings.record_by_code(
                actor=current_user, now=utcnow(), meeting=meeting, code=code, method=method
            )
        if not refused:
            flash(_("%(name)s was there.", name=person.full_name), "success")
            return redirect(url_for("mentor.meeting", meeting_id=meeting.id), 303)
    return _meeting_page(meeting, card=form, status=422)


def _card_code(form: CardCodeForm) -> tuple[str, Method]:
    """The learner code of the card photographed (its QR), or the one typed."""
    if form.photo.data:
        return cards.codes_in_photo(form.photo.data.stream)[0], Method.CARD
    return form.code.data, Method.CODE


@bp.post("/hoc/gap/<int:meeting_id>")
@public
def confirm(meeting_id: int):
    """A mentee confirms on their remembered phone that their mentor met them."""
    key = device_key()
    person = phones.device_person(key, query_int("person_id")) or abort(400)
    with attempt(flashed=True) as refused:
        meetings.confirm(now=utcnow(), meeting_id=meeting_id, person_id=person.id, device_key=key)
    if not refused:
        flash(_("Thank you! The meeting is confirmed."), "success")
    return redirect(url_for("quiz.home"), 303)


def _to_confirm(person_ids, now):
    """The phone page's question for each mentee met in the last week (see phones.PROMPTS)."""
    today = to_local(now).date()
    prompts = []
    for item in meetings.unconfirmed_for(person_ids, now=now):
        day = to_local(item.starts_at).date()
        if day == today:
            text = _("Did digital ambassador %(name)s meet you today?", name=item.mentor_name)
        else:
            text = _(
                "Did digital ambassador %(name)s meet you on %(date)s?",
                name=item.mentor_name,
                date=format_date(item.starts_at),
            )
        action = url_for("mentor.confirm", meeting_id=item.meeting_id)
        prompts.append(phones.Prompt(item.person_id, text, action, _("Yes, we met")))
    return prompts


phones.PROMPTS.append(_to_confirm)
