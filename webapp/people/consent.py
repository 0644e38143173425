"""Consent that can be proven: given on a versioned notice, how (a signed paper form, the
learner's own phone, the sign-up form, an imported list), when and recorded by whom; withdrawn
in one action, after which the person is not processed (not offered for enrolment, check-in or
mentoring) until they consent again.

Who may record or withdraw: the staff who may edit the person (``services.EDITORS``, a village
lead in their village), loaded through ``queries.get_person``.
"""

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, and_, select

from webapp.extensions import db
from webapp.people import audit, notice
from webapp.people.models import Person
from webapp.people.privacy_models import (
    AuditAction,
    Consent,
    ConsentMethod,
    ConsentNotice,
    PrivacyError,
)
from webapp.timeutil import UTCDateTime, to_local, utcnow


def current_notice() -> ConsentNotice:
    """The notice in force: the highest version (the migration publishes version 1; an empty
    table gets it again)."""
    found = db.session.scalar(select(ConsentNotice).order_by(ConsentNotice.version.desc()).limit(1))
    if found is None:
        found = ConsentNotice(
            version=notice.VERSION,
            text_vi=notice.NOTICE_VI,
            text_en=notice.NOTICE_EN,
            published_at=utcnow(),
        )
        db.session.add(found)
        db.session.flush()
    return found


def processable():
    """SQL: people who may be processed (consent not withdrawn, not restricted, not erased)."""
    return and_(
        Person.consent_withdrawn_at.is_(None),
        Person.restricted_at.is_(None),
        Person.erased_at.is_(None),
    )


def processable_person(person: Person) -> bool:
    """Whether a loaded person may be processed (no query)."""
    return (
        person.consent_withdrawn_at is None
        and person.restricted_at is None
        and (person.erased_at is None)
    )


def processable_id(person_id: int) -> bool:
    """Whether the person of this id may be processed (one query)."""
    return (
        db.session.scalar(select(Person.id).where(Person.id == person_id, processable()))
        is not None
    )


def why_not_processed(person: Person):
    """None when the person may be processed, else the reason shown on pages."""
    if person.erased_at is not None:
        return _l("This person's data was erased at their request.")
    if person.consent_withdrawn_at is not None:
        return _l(
            "This person withdrew their consent: they are not processed until they consent again."
        )
    if person.restricted_at is not None:
        return _l("Processing of this person's data is restricted at their request.")
    return None


def require_processable(person: Person) -> None:
    """Refuse any processing of a person who withdrew consent, is restricted or erased."""
    reason = why_not_processed(person)
    if reason is not None:
        raise PrivacyError("not_processed", reason, status=409)


def active(person: Person) -> Consent | None:
    """The consent in force (the latest not withdrawn), if any."""
    return db.session.scalar(
        select(Consent)
        .where(Consent.person_id == person.id, Consent.withdrawn_at.is_(None))
        .order_by(Consent.given_at.desc(), Consent.id.desc())
        .limit(1)
    )


def history(person: Person) -> list[Consent]:
    return list(
        db.session.scalars(
            select(Consent)
            .where(Consent.person_id == person.id)
            .order_by(Consent.given_at.desc(), Consent.id.desc())
        )
    )


def give(
    *,
    actor,
    now: datetime,
    person: Person,
    method: ConsentMethod,
    given_on: date | None = None,
    device=None,
    address: str = "",
) -> Consent:
    """Record a consent on the notice in force (a new one replaces none: the history keeps
    every consent and withdrawal). Clears a withdrawal."""
    if person.erased_at is not None:
        raise PrivacyError("person_erased", _l("This person's data was erased."), status=409)
    today = to_local(now).date()
    given_on = given_on or today
    if given_on > today:
        raise PrivacyError("date_in_future", _l("The date of consent cannot be in the future."))
    if method not in set(ConsentMethod):
        raise PrivacyError("method_invalid", _l("Choose how the consent was given."))
    record = Consent(
        person_id=person.id,
        notice_id=current_notice().id,
        method=str(method),
        given_on=given_on,
        given_at=now,
        recorded_by_id=getattr(actor, "id", None),
        device_id=getattr(device, "id", None),
    )
    db.session.add(record)
    person.consent_on = given_on
    person.consent_recorded_by_id = getattr(actor, "id", None)
    person.consent_withdrawn_at = None
    person.updated_at = now
    audit.record(
        actor=actor,
        now=now,
        action=AuditAction.CONSENT,
        what=f"consent.{method}",
        person=person,
        address=address,
    )
    db.session.flush()
    return record


def withdraw(*, actor, now: datetime, person: Person, address: str = "") -> None:
    """Withdraw consent: every consent in force ends now and the person is no longer
    processed until they consent again."""
    if person.erased_at is not None:
        raise PrivacyError("person_erased", _l("This person's data was erased."), status=409)
    if person.consent_withdrawn_at is not None:
        raise PrivacyError("already_withdrawn", _l("Consent was already withdrawn."), status=409)
    for record in db.session.scalars(
        select(Consent).where(Consent.person_id == person.id, Consent.withdrawn_at.is_(None))
    ):
        record.withdrawn_at = now
        record.withdrawn_by_id = getattr(actor, "id", None)
    person.consent_withdrawn_at = now
    person.updated_at = now
    audit.record(
        actor=actor,
        now=now,
        action=AuditAction.CONSENT,
        what="consent.withdrawn",
        person=person,
        address=address,
    )
    db.session.flush()


def record_dated(
    *, actor, now: datetime, method: ConsentMethod, person_ids=None, commune_id=None
) -> None:
    """A consent on the notice in force for every person whose consent date was set by
    another path (the person form, an imported list, a sign-up form, the demo) and who has no
    consent in force of that day yet: one statement. ``person_ids`` or ``commune_id`` limit
    it (neither: everyone)."""
    from sqlalchemy import insert, literal

    has_it = (
        select(Consent.id)
        .where(
            Consent.person_id == Person.id,
            Consent.withdrawn_at.is_(None),
            Consent.given_on == Person.consent_on,
        )
        .exists()
    )
    rows = select(
        Person.id,
        literal(current_notice().id),
        literal(str(method)),
        Person.consent_on,
        literal(now, UTCDateTime),
        literal(getattr(actor, "id", None), Integer),
    ).where(Person.consent_on.is_not(None), Person.erased_at.is_(None), ~has_it)
    if person_ids is not None:
        rows = rows.where(Person.id.in_(list(person_ids)))
    if commune_id is not None:
        rows = rows.where(Person.commune_id == commune_id)
    columns = ["person_id", "notice_id", "method", "given_on", "given_at", "recorded_by_id"]
    db.session.execute(insert(Consent).from_select(columns, rows))
