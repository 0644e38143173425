"""Consent on the learner's own phone (``/hoc``): the phone page asks each of its people who
has no consent in force to read the notice; they agree with one more tap. Recorded with the
phone that gave it (``ConsentMethod.PHONE``). Light layout, no script."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from webapp.checkin import phones
from webapp.checkin.learner_views import device_key
from webapp.checkin.models import Device
from webapp.extensions import db
from webapp.forms import attempt
from webapp.ids import query_int
from webapp.people import consent
from webapp.people.models import Person
from webapp.people.privacy_models import Consent, ConsentMethod
from webapp.permissions import public
from webapp.timeutil import utcnow

bp = Blueprint("phone_consent", __name__)


@bp.post("/hoc/dong-y")
@public
def agree():
    """First tap: the notice to read; second tap (``agree=1``): the consent recorded."""
    key = device_key()
    person = phones.device_person(key, query_int("person_id")) or abort(400)
    if query_int("agree") != 1:
        return render_template(
            "people/phone_consent.html", person=person, notice=consent.current_notice()
        )
    device = db.session.scalar(
        select(Device).where(
            Device.key == key, Device.person_id == person.id, Device.revoked_at.is_(None)
        )
    )
    found = db.session.get(Person, person.id)
    with attempt(flashed=True) as refused:
        consent.give(
            actor=None, now=utcnow(), person=found, method=ConsentMethod.PHONE, device=device
        )
    if not refused:
        db.session.commit()
        flash(_("Thank you! Your consent is recorded."), "success")
    return redirect(url_for("quiz.home"), 303)


def _to_consent(person_ids, now):
    """The phone page's question for each of its people without a consent in force (see
    phones.PROMPTS); one query."""
    given = select(Consent.person_id).where(
        Consent.person_id.in_(person_ids), Consent.withdrawn_at.is_(None)
    )
    waiting = db.session.scalars(
        select(Person.id).where(
            Person.id.in_(person_ids), Person.erased_at.is_(None), Person.id.not_in(given)
        )
    )
    return [
        phones.Prompt(
            person_id=person_id,
            text=_("Please read how your data is used, and agree if you do."),
            action=url_for("phone_consent.agree"),
            button=_("Read and agree"),
        )
        for person_id in waiting
    ]


phones.PROMPTS.append(_to_consent)
