"""A person's requests about their data (access, correction, restriction, erasure,
withdrawal of consent): each logged when received, with its deadline, and when and by whom it
was fulfilled. Fulfilling a restriction, an erasure or a withdrawal does it in the same
transaction.
"""

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from webapp.extensions import db
from webapp.people import audit, consent
from webapp.people.models import Person
from webapp.people.privacy_models import AuditAction, DataRequest, PrivacyError, RequestKind

#: Hours to fulfil a request unless configured (``PRIVACY_REQUEST_HOURS``): Decree
#: 13/2023/NĐ-CP gives 72 hours for providing, correcting and erasing data.
DEFAULT_HOURS = 72
CHANNELS = ("in_person", "paper", "phone_call")


def open_request(
    *,
    actor,
    now: datetime,
    person: Person,
    kind: str,
    channel: str = "in_person",
    hours: int = DEFAULT_HOURS,
    address: str = "",
) -> DataRequest:
    if kind not in set(RequestKind):
        raise PrivacyError("kind_invalid", _l("Choose what the person asks for."))
    if channel not in CHANNELS:
        raise PrivacyError("channel_invalid", _l("Choose how the request came."))
    if person.erased_at is not None:
        raise PrivacyError("person_erased", _l("This person's data was erased."), status=409)
    request = DataRequest(
        person_id=person.id,
        commune_id=person.commune_id,
        kind=kind,
        channel=channel,
        received_at=now,
        received_by_id=actor.id,
        due_at=now + timedelta(hours=hours),
    )
    db.session.add(request)
    audit.record(
        actor=actor,
        now=now,
        action=AuditAction.REQUEST,
        what=f"request.{kind}",
        person=person,
        address=address,
    )
    db.session.flush()
    return request


def fulfil(
    *, actor, now: datetime, request: DataRequest, person: Person, address: str = ""
) -> None:
    """Do what the request asks (restriction, erasure, withdrawal) and mark it fulfilled; an
    access or correction request is marked fulfilled once staff have given the files or made
    the correction."""
    if request.fulfilled_at is not None:
        raise PrivacyError(
            "already_fulfilled", _l("This request was already fulfilled."), status=409
        )
    if request.person_id != person.id:
        raise PrivacyError("not_allowed", _l("This request is about someone else."), status=403)
    match request.kind:
        case RequestKind.RESTRICTION:
            restrict(actor=actor, now=now, person=person, address=address)
        case RequestKind.WITHDRAWAL:
            if person.consent_withdrawn_at is None:
                consent.withdraw(actor=actor, now=now, person=person, address=address)
        case RequestKind.ERASURE:
            from webapp.people import erasure

            erasure.erase(actor=actor, now=now, person=person, address=address)
    request.fulfilled_at = now
    request.fulfilled_by_id = actor.id
    audit.record(
        actor=actor,
        now=now,
        action=AuditAction.REQUEST,
        what=f"request.{request.kind}.done",
        person_id=person.id,
        commune_id=person.commune_id,
        address=address,
    )
    db.session.flush()


def restrict(*, actor, now: datetime, person: Person, address: str = "") -> None:
    if person.restricted_at is None:
        person.restricted_at = now
        person.updated_at = now
        audit.record(
            actor=actor,
            now=now,
            action=AuditAction.CHANGE,
            what="person.restricted",
            person=person,
            address=address,
        )


def lift_restriction(*, actor, now: datetime, person: Person, address: str = "") -> None:
    if person.erased_at is not None:
        raise PrivacyError("person_erased", _l("This person's data was erased."), status=409)
    if person.restricted_at is None:
        raise PrivacyError("not_restricted", _l("Processing is not restricted."), status=409)
    person.restricted_at = None
    person.updated_at = now
    audit.record(
        actor=actor,
        now=now,
        action=AuditAction.CHANGE,
        what="person.restriction_lifted",
        person=person,
        address=address,
    )


def for_person(person: Person) -> list[DataRequest]:
    return list(
        db.session.scalars(
            select(DataRequest)
            .where(DataRequest.person_id == person.id)
            .order_by(DataRequest.received_at.desc(), DataRequest.id.desc())
        )
    )


def get_request(person: Person, request_id: int) -> DataRequest | None:
    """A request of this person (loaded through the person, so in the reader's scope)."""
    return db.session.scalar(
        select(DataRequest).where(DataRequest.id == request_id, DataRequest.person_id == person.id)
    )
