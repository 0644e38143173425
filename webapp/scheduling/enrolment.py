"""Enrolment rules: seats, the waiting list, households, and public sign-up requests."""

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import selectinload

from webapp.accounts.models import User
from webapp.errors import DomainError
from webapp.extensions import db
from webapp.people import consent
from webapp.people.models import Household, Person, TargetGroup, Village
from webapp.people.names import require_full_name
from webapp.people.privacy_models import ConsentMethod
from webapp.people.services import birth_year_problem, phone_problem
from webapp.phone import normalise_phone
from webapp.scheduling.access import require_runner
from webapp.scheduling.models import (
    ClassStatus,
    CourseClass,
    Enrolment,
    EnrolmentStatus,
    SignupRequest,
    SignupStatus,
)
from webapp.text import clean, fold, name_key
from webapp.timeutil import to_local

ACTIVE = (EnrolmentStatus.ENROLLED, EnrolmentStatus.WAITING)
CLOSED = (ClassStatus.FINISHED, ClassStatus.CANCELLED)


def _lock(course_class: CourseClass) -> None:
    """Serialise seat counting per class (row lock on PostgreSQL; SQLite has one writer)."""
    db.session.execute(
        select(CourseClass.id).where(CourseClass.id == course_class.id).with_for_update()
    )


def is_enrolled(person: Person, course_class: CourseClass) -> bool:
    """Whether the person holds a seat in the class (not waiting, not withdrawn)."""
    seat = select(Enrolment.id).where(
        Enrolment.class_id == course_class.id,
        Enrolment.person_id == person.id,
        Enrolment.status == EnrolmentStatus.ENROLLED,
    )
    return db.session.scalar(seat) is not None


def enrolled_people(
    course_class: CourseClass, *, by_village: bool = False, with_villages: bool = False
) -> list[Person]:
    """The people holding a seat in the class (not waiting, not withdrawn), in Vietnamese name
    order (by village first with ``by_village``); one query, and one more to load their
    villages ``with_villages``."""
    stmt = select(Person).join(Enrolment, Enrolment.person_id == Person.id)
    stmt = stmt.where(
        Enrolment.class_id == course_class.id, Enrolment.status == EnrolmentStatus.ENROLLED
    )
    if with_villages:
        stmt = stmt.options(selectinload(Person.village))
    if by_village:
        stmt = stmt.join(Village, Village.id == Person.village_id)
        stmt = stmt.order_by(Village.position, Village.name)
    return list(db.session.scalars(stmt.order_by(Person.sort_key, Person.birth_year, Person.id)))


def seats_taken(course_class: CourseClass) -> int:
    """How many people are enrolled (not waiting, not withdrawn)."""
    return db.session.scalar(
        select(func.count()).where(
            Enrolment.class_id == course_class.id, Enrolment.status == EnrolmentStatus.ENROLLED
        )
    )


def enrol(*, actor: User, now: datetime, course_class: CourseClass, person: Person) -> Enrolment:
    """Give the person a seat, or a place on the waiting list when the class is full."""
    require_runner(actor, course_class)
    if course_class.status in CLOSED:
        raise DomainError("class_closed", _l("This class no longer takes learners."))
    if person.commune_id != course_class.commune_id:
        raise DomainError("person_other_commune", _l("This person lives in another commune."))
    consent.require_processable(person)
    _lock(course_class)
    # A seat that is free while people wait belongs to the first of them, not to a newcomer.
    promote_waiting(course_class, now=now)
    enrolment = db.session.scalar(
        select(Enrolment).where(
            Enrolment.class_id == course_class.id, Enrolment.person_id == person.id
        )
    )
    if enrolment is not None and enrolment.status in ACTIVE:
        raise DomainError(
            "already_enrolled", _l("%(name)s is already in this class."), name=person.full_name
        )
    # Count before making the new row: the count query autoflushes, and a row without its
    # status yet cannot be written.
    full = seats_taken(course_class) >= course_class.capacity
    status = EnrolmentStatus.WAITING if full else EnrolmentStatus.ENROLLED
    if enrolment is None:
        enrolment = Enrolment(course_class=course_class, person=person, status=status, since=now)
        db.session.add(enrolment)
    enrolment.status, enrolment.since, enrolment.enrolled_by_id = status, now, actor.id
    enrolment.withdrawn_by_id, enrolment.withdrawn_reason = None, ""
    db.session.flush()
    current_app.logger.info(
        "person %s %s in class %s by %s",
        person.id,
        enrolment.status,
        course_class.id,
        actor.username,
    )
    return enrolment


def enrol_household(
    *, actor: User, now: datetime, course_class: CourseClass, household: Household
) -> list[Enrolment]:
    """Enrol every member of a household who is not in the class yet (oldest first)."""
    require_runner(actor, course_class)
    if household.commune_id != course_class.commune_id:
        raise DomainError("person_other_commune", _l("This person lives in another commune."))
    added = []
    for person in sorted(household.members, key=lambda p: (p.birth_year, p.id)):
        active = db.session.scalar(
            select(Enrolment.id).where(
                Enrolment.class_id == course_class.id,
                Enrolment.person_id == person.id,
                Enrolment.status.in_(ACTIVE),
            )
        )
        if active is None:
            added.append(enrol(actor=actor, now=now, course_class=course_class, person=person))
    return added


def unenrol(*, actor: User, now: datetime, enrolment: Enrolment, reason: str) -> Enrolment | None:
    """Withdraw a learner (with a reason); the freed seat goes to the first person waiting.

    Returns the promoted enrolment, if any.
    """
    course_class = enrolment.course_class
    require_runner(actor, course_class)
    if not clean(reason):
        raise DomainError("reason_missing", _l("Say why the person leaves the class."))
    _lock(course_class)
    db.session.refresh(enrolment)  # a concurrent withdrawal may have happened meanwhile
    if enrolment.status == EnrolmentStatus.WITHDRAWN:
        raise DomainError("not_enrolled", _l("This person is not in the class."))
    enrolment.status, enrolment.since = EnrolmentStatus.WITHDRAWN, now
    enrolment.withdrawn_by_id, enrolment.withdrawn_reason = actor.id, clean(reason)[:300]
    db.session.flush()
    promoted = promote_waiting(course_class, now=now)
    return promoted[0] if promoted else None


def promote_waiting(course_class: CourseClass, *, now: datetime) -> list[Enrolment]:
    """Fill free seats from the waiting list, first come first served (not in a finished or
    cancelled class, whose waiting list stays as it was)."""
    if course_class.status in CLOSED:
        return []
    _lock(course_class)
    free = course_class.capacity - seats_taken(course_class)
    if free <= 0:
        return []
    waiting = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.class_id == course_class.id, Enrolment.status == EnrolmentStatus.WAITING)
        .order_by(Enrolment.since, Enrolment.id)
        .limit(free)
    ).all()
    for enrolment in waiting:
        enrolment.status, enrolment.since = EnrolmentStatus.ENROLLED, now
    db.session.flush()
    return list(waiting)


# --- public sign-up ------------------------------------------------------------------------------


def submit_signup(
    *,
    now: datetime,
    course_class: CourseClass,
    full_name: str,
    birth_year: int | None,
    village_id: int | None,
    phone: str,
    consent: bool = True,
) -> SignupRequest:
    """Record a request to join from the public class page (no account needed).

    The same request sent twice (same name, birth year and village while still pending) is
    recorded once. ``consent``: the person agreed on the form that their data is processed.
    """
    if not takes_signups(course_class):
        raise DomainError("signup_closed", _l("This class does not take sign-ups."), status=404)
    full_name = require_full_name(full_name)
    for code, problem in (
        ("birth_year_invalid", birth_year_problem(birth_year, now=now)),
        ("phone_invalid", phone_problem(phone)),
    ):
        if problem:
            raise DomainError(code, problem)
    village = db.session.get(Village, village_id) if village_id else None
    if village is None or village.commune_id != course_class.commune_id:
        raise DomainError("village_invalid", _l("Choose your village."))
    if not consent:
        raise DomainError(
            "consent_missing",
            _l("Tick the box to agree that your details are kept for this class."),
        )
    phone = normalise_phone(phone)  # the number as it is dialled: 0905123456
    same = _pending_same(course_class, full_name, birth_year, village.id)
    if same is not None:
        same.phone = phone or same.phone
        db.session.flush()
        return same
    signup = SignupRequest(
        course_class=course_class,
        full_name=clean(full_name),
        birth_year=birth_year,
        village_id=village.id,
        phone=phone,
        created_at=now,
        status=SignupStatus.PENDING,
    )
    db.session.add(signup)
    db.session.flush()
    return signup


def takes_signups(course_class: CourseClass) -> bool:
    """True when the class has its public page on and is not finished or cancelled."""
    return course_class.public_signup and course_class.status not in CLOSED


def _pending_same(course_class, full_name, birth_year, village_id) -> SignupRequest | None:
    candidates = db.session.scalars(
        select(SignupRequest).where(
            SignupRequest.class_id == course_class.id,
            SignupRequest.status == SignupStatus.PENDING,
            SignupRequest.birth_year == birth_year,
            SignupRequest.village_id == village_id,
        )
    )
    return next((s for s in candidates if name_key(s.full_name) == name_key(full_name)), None)


@dataclass
class SignupMatch:
    """Who a sign-up request may be in the registry."""

    #: Surely the same person (see :func:`match_person`): confirming enrols them.
    exact: Person | None = None
    #: Perhaps the same person: the same name typed without (or with other) accents, birth
    #: year and village; or the same phone number and birth year. The trainer chooses.
    possible: list[Person] = field(default_factory=list)


#: Sign-up requests looked up in one query (each adds a few terms to it).
MATCH_BATCH = 100


def signup_matches(signups: list[SignupRequest]) -> dict[int, SignupMatch]:
    """The match of each sign-up request (by its id), all found in one query per
    ``MATCH_BATCH`` requests, with each person's village loaded."""
    found = {}
    for i in range(0, len(signups), MATCH_BATCH):
        batch = signups[i : i + MATCH_BATCH]
        candidates = _candidates(batch)
        found |= {s.id: _match(s, candidates) for s in batch}
    return found


def _candidates(signups: list[SignupRequest]) -> list[Person]:
    """Registered people of the same birth year as one of the requests, in its commune, who
    have its name (exactly, or without accents: the folded name starts the search text) in
    its village, or its phone number. Narrowed down further by :func:`_match`."""
    terms = []
    for signup in signups:
        same_name = or_(
            Person.name_key == name_key(signup.full_name),
            Person.search_text.startswith(fold(signup.full_name), autoescape=True),
        )
        terms.append(
            and_(
                Person.commune_id == signup.course_class.commune_id,
                Person.birth_year == signup.birth_year,
                or_(
                    and_(Person.village_id == signup.village_id, same_name),
                    Person.phone == signup.phone if signup.phone else false(),
                ),
            )
        )
    stmt = select(Person).where(or_(*terms)).options(selectinload(Person.village))
    return list(db.session.scalars(stmt.order_by(Person.id)))


def _match(signup: SignupRequest, candidates: list[Person]) -> SignupMatch:
    key, folded = name_key(signup.full_name), fold(signup.full_name)
    mine = [
        p
        for p in candidates
        if p.commune_id == signup.course_class.commune_id and p.birth_year == signup.birth_year
    ]
    exact = next(
        (p for p in mine if p.village_id == signup.village_id and p.name_key == key), None
    ) or next(
        (p for p in mine if signup.phone and p.phone == signup.phone and p.name_key == key), None
    )
    possible = [
        p
        for p in mine
        if p is not exact
        and (
            (p.village_id == signup.village_id and fold(p.full_name) == folded)
            or (signup.phone and p.phone == signup.phone)
        )
    ]
    return SignupMatch(exact, possible)


def match_person(signup: SignupRequest) -> Person | None:
    """The registered person this sign-up surely is: same name (however the accents were
    encoded), birth year and village; or else, for someone who picked another village, the
    same name, birth year and phone number in the commune.

    A phone number and a birth year alone are not enough: spouses of the same age often
    share one phone. Such people, and names typed without accents, are only *possible*
    matches (:func:`signup_matches`), for the trainer to choose from.
    """
    return _match(signup, _candidates([signup])).exact


def confirm_signup(
    *, actor: User, now: datetime, signup: SignupRequest, person: Person | None = None
) -> Enrolment:
    """Accept a sign-up: enrol the registered person the trainer chose (``person``, who must
    live in the class's commune), else the automatic match, else register them; then enrol."""
    require_runner(actor, signup.course_class)
    if signup.status != SignupStatus.PENDING:
        raise DomainError("signup_decided", _l("This request was already handled."))
    if signup.course_class.status in CLOSED:  # before anybody is added to the registry
        raise DomainError("class_closed", _l("This class no longer takes learners."))
    if person is not None and person.commune_id != signup.course_class.commune_id:
        raise DomainError("person_other_commune", _l("This person lives in another commune."))
    person = person or match_person(signup)
    if person is None:
        person = Person(
            commune_id=signup.course_class.commune_id,
            village_id=signup.village_id,
            birth_year=signup.birth_year,
            phone=signup.phone or None,
            target_group=TargetGroup.CITIZEN,
            created_at=now,
            updated_at=now,
            consent_on=to_local(signup.created_at).date(),  # agreed on the form
            consent_recorded_by_id=actor.id,
        )
        person.set_name(signup.full_name)
        person.refresh_search_text()
        db.session.add(person)
        db.session.flush()
        consent.record_dated(
            actor=actor, now=now, method=ConsentMethod.SIGNUP, person_ids=[person.id]
        )
    signup.person_id, signup.status = person.id, SignupStatus.CONFIRMED
    signup.decided_by_id, signup.decided_at = actor.id, now
    existing = db.session.scalar(
        select(Enrolment).where(
            Enrolment.class_id == signup.class_id,
            Enrolment.person_id == person.id,
            Enrolment.status.in_(ACTIVE),
        )
    )
    if existing is not None:  # asked twice, or the trainer enrolled them already
        return existing
    return enrol(actor=actor, now=now, course_class=signup.course_class, person=person)


def reject_signup(*, actor: User, now: datetime, signup: SignupRequest) -> None:
    """Decline a sign-up request."""
    require_runner(actor, signup.course_class)
    if signup.status != SignupStatus.PENDING:
        raise DomainError("signup_decided", _l("This request was already handled."))
    signup.status, signup.decided_by_id, signup.decided_at = SignupStatus.REJECTED, actor.id, now
    db.session.flush()
