"""Mentoring rules: mentors, assigning and ending mentorships, and the flags (never blocks):
mentors under the minimum, mentees past their contact frequency, suggestions of unmatched
people.

Every function takes ``actor=`` and ``now=`` explicitly where it changes something, flushes
and never commits (the view commits once), and refuses with :class:`MentoringError`, whose
``code`` is stable (docs/mentoring.md lists them).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from webapp.accounts.models import User
from webapp.extensions import begin_writing, db, savepoint
from webapp.mentoring import meetings, queries
from webapp.mentoring.access import (
    can_link_accounts,
    can_manage_village,
    require_mentee_manager,
    require_mentor_manager,
)
from webapp.mentoring.models import (
    CONTACT_DAYS_DEFAULT,
    CONTACT_DAYS_KEY,
    MIN_MENTEES_DEFAULT,
    MIN_MENTEES_KEY,
    EndReason,
    Mentor,
    MentoringError,
    Mentorship,
    Organisation,
)
from webapp.people import consent
from webapp.people.models import Household, Person, Segment, Village
from webapp.people.queries import segment_condition
from webapp.permissions import Role
from webapp.text import clean
from webapp.timeutil import to_local

#: Segments whose people come first in suggestions (the plan: older people, people with
#: disabilities, poor households).
PRIORITY_SEGMENTS = (Segment.OLDER, Segment.DISABILITY, Segment.POOR_HOUSEHOLD)
NOTE_MAX = 500


# --- settings ------------------------------------------------------------------------------------


def mentee_minimum() -> int:
    """Active mentees a mentor should have (``MENTORING_MIN_MENTEES``, default 5)."""
    return int(current_app.config.get(MIN_MENTEES_KEY, MIN_MENTEES_DEFAULT))


def contact_days(target_group: str | None) -> int:
    """Days a mentee of that target group may go without a held contact before being flagged
    (``MENTORING_CONTACT_DAYS``: {"default": 14, "<group>": days, …})."""
    days = {**CONTACT_DAYS_DEFAULT, **current_app.config.get(CONTACT_DAYS_KEY, {})}
    return int(days.get(target_group or "", days["default"]))


# --- one transaction, for the database's word on "one active mentor" ---------------------------


def _open_transaction() -> None:
    """Open the transaction and take SQLite's write lock before reading what the write
    depends on (:func:`webapp.extensions.begin_writing`): concurrent assignments queue here
    and the second one sees the first one's mentorship. PostgreSQL needs nothing: the partial
    unique index makes the second of two concurrent inserts fail, caught below."""
    begin_writing()


def _already_mentored(person: Person, current: Mentorship | None) -> MentoringError:
    mentor_name = current.mentor.person.full_name if current is not None else ""
    return MentoringError(
        "already_mentored",
        _l("%(name)s already has a mentor (%(mentor)s)."),
        status=409,
        name=person.full_name,
        mentor=mentor_name,
    )


def _start(actor: User, now: datetime, mentor: Mentor, person: Person) -> Mentorship:
    """Insert the active mentorship; the partial unique index refuses a second one."""
    current = queries.active_mentorship_of(person.id)
    if current is not None:
        raise _already_mentored(person, current)
    mentorship = Mentorship(
        mentor=mentor,
        person_id=person.id,
        commune_id=person.commune_id,
        started_at=now,
        started_by_id=actor.id,
        end_note="",
    )
    try:
        with savepoint():
            db.session.add(mentorship)
    except IntegrityError:
        # Another assignment of this person was committed since the check above.
        current = queries.active_mentorship_of(person.id)
        if current is None:
            raise  # not the one-active-mentor index: a real fault
        raise _already_mentored(person, current) from None
    return mentorship


# --- mentors -------------------------------------------------------------------------------------


def _check_details(person: Person, organisation: str, village_id: int | None) -> None:
    if organisation not in set(Organisation):
        raise MentoringError("organisation_invalid", _l("Choose the mentor's organisation."))
    if village_id is not None:
        village = db.session.get(Village, village_id)
        if village is None or village.commune_id != person.commune_id:
            raise MentoringError("village_invalid", _l("Choose a village of the mentor's commune."))


def make_mentor(
    *,
    actor: User,
    now: datetime,
    person: Person,
    organisation: str,
    village_id: int | None = None,
    counter_helper: bool = False,
) -> Mentor:
    """Make a registered person a mentor (a former mentor's record is reopened).

    ``village_id`` is the village they work in; None for the whole commune (their
    suggestions then come from the village they live in).
    """
    _check_details(person, organisation, village_id)
    if not can_manage_village(actor, person.commune_id, village_id or person.village_id):
        raise MentoringError("not_allowed", _l("You may not make mentors here."), status=403)
    mentor = db.session.scalar(select(Mentor).where(Mentor.person_id == person.id))
    if mentor is not None and mentor.active:
        raise MentoringError(
            "already_mentor", _l("%(name)s is already a mentor."), status=409, name=person.full_name
        )
    if mentor is None:
        mentor = Mentor(person=person, commune_id=person.commune_id)
        mentor.created_at, mentor.created_by_id = now, actor.id
        db.session.add(mentor)
    mentor.organisation, mentor.village_id = organisation, village_id
    mentor.counter_helper, mentor.ended_at, mentor.ended_by_id = counter_helper, None, None
    _open_transaction()
    try:
        with savepoint():
            db.session.flush()
    except IntegrityError:  # the same person made a mentor twice at once
        raise MentoringError(
            "already_mentor", _l("%(name)s is already a mentor."), status=409, name=person.full_name
        ) from None
    current_app.logger.info("person %s made a mentor by %s", person.id, actor.username)
    return mentor


def update_mentor(
    *,
    actor: User,
    now: datetime,
    mentor: Mentor,
    organisation: str,
    village_id: int | None,
    counter_helper: bool,
) -> Mentor:
    """Change a mentor's organisation, village and counter-helper mark."""
    require_mentor_manager(actor, mentor)
    _check_details(mentor.person, organisation, village_id)
    if not can_manage_village(actor, mentor.commune_id, village_id or mentor.person.village_id):
        raise MentoringError("not_allowed", _l("You may not make mentors here."), status=403)
    mentor.organisation, mentor.village_id = organisation, village_id
    mentor.counter_helper = counter_helper
    db.session.flush()
    return mentor


def end_mentor(*, actor: User, now: datetime, mentor: Mentor, note: str = "") -> list[Mentorship]:
    """The person stops being a mentor; their active mentorships end (reason ``stopped``, with
    the note) and their mentees become unmatched, so they show in the suggestions and the
    organiser's unmatched counts. Returns the mentorships ended. Their history is kept."""
    require_mentor_manager(actor, mentor)
    if not mentor.active:
        raise MentoringError("mentor_ended", _l("This person is no longer a mentor."), status=409)
    note = _note(note)
    ended = [
        _end(actor, now, mentorship, EndReason.STOPPED, note)
        for mentorship in queries.active_mentorships(mentor)
    ]
    mentor.ended_at, mentor.ended_by_id = now, actor.id
    db.session.flush()
    current_app.logger.info("mentor %s ended by %s", mentor.id, actor.username)
    return ended


def link_account(*, actor: User, now: datetime, mentor: Mentor, user: User | None) -> Mentor:
    """Link the mentor's log-in (role mentor, same commune); ``user=None`` unlinks it."""
    if not can_link_accounts(actor, mentor.commune_id):
        raise MentoringError(
            "not_allowed", _l("Only an organiser may link a mentor's log-in."), status=403
        )
    if user is not None:
        _check_account(mentor, user)
    mentor.user_id = user.id if user is not None else None
    _open_transaction()
    try:
        with savepoint():
            db.session.flush()
    except IntegrityError:  # linked to another mentor at the same moment
        raise _account_linked() from None
    return mentor


def _account_linked() -> MentoringError:
    return MentoringError(
        "account_linked", _l("This log-in already belongs to another mentor."), status=409
    )


def _check_account(mentor: Mentor, user: User) -> None:
    if not mentor.active:
        raise MentoringError("mentor_ended", _l("This person is no longer a mentor."), status=409)
    if user.role != Role.MENTOR:
        raise MentoringError("not_mentor_role", _l("Choose a log-in with the mentor role."))
    if not user.active:
        raise MentoringError("account_inactive", _l("This log-in is disabled."))
    if user.province_wide or user.commune_id != mentor.commune_id:
        raise MentoringError("other_commune", _l("This log-in is of another commune."))
    other = db.session.scalar(
        select(Mentor.id).where(Mentor.user_id == user.id, Mentor.id != mentor.id)
    )
    if other is not None:
        raise _account_linked()


# --- mentorships ---------------------------------------------------------------------------------


def _check_pair(actor: User, mentor: Mentor, person: Person) -> None:
    """The rules of giving ``person`` to ``mentor`` (not whether the person is free)."""
    require_mentor_manager(actor, mentor)
    if not mentor.active:
        raise MentoringError("mentor_ended", _l("This person is no longer a mentor."), status=409)
    if person.commune_id != mentor.commune_id:
        raise MentoringError("other_commune", _l("This person lives in another commune."))
    if person.id == mentor.person_id:
        raise MentoringError("self_mentoring", _l("A mentor cannot mentor themselves."))
    consent.require_processable(person)
    require_mentee_manager(actor, person)


def assign(*, actor: User, now: datetime, mentor: Mentor, person: Person) -> Mentorship:
    """Give the person to the mentor. One active mentor per mentee: a second is refused
    (``already_mentored``), also when two assignments are made at the same moment."""
    _check_pair(actor, mentor, person)
    _open_transaction()
    mentorship = _start(actor, now, mentor, person)
    current_app.logger.info(
        "person %s mentored by mentor %s (by %s)", person.id, mentor.id, actor.username
    )
    return mentorship


@dataclass
class Skipped:
    """A household member not assigned, and why (a code of this module)."""

    person: Person
    code: str
    message: str


@dataclass
class HouseholdAssignment:
    assigned: list[Mentorship] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def assign_household(
    *, actor: User, now: datetime, mentor: Mentor, household: Household
) -> HouseholdAssignment:
    """Give every member of the household who has no mentor yet to the mentor (oldest
    first); the others (already mentored, the mentor themselves) are listed as skipped."""
    require_mentor_manager(actor, mentor)
    if household.commune_id != mentor.commune_id:
        raise MentoringError("other_commune", _l("This person lives in another commune."))
    result = HouseholdAssignment()
    for person in sorted(household.members, key=lambda p: (p.birth_year, p.id)):
        try:
            result.assigned.append(assign(actor=actor, now=now, mentor=mentor, person=person))
        except MentoringError as refusal:
            if refusal.code not in ("already_mentored", "self_mentoring"):
                raise
            result.skipped.append(Skipped(person, refusal.code, refusal.message))
    return result


def _note(note: str | None) -> str:
    note = clean(note or "")
    if len(note) > NOTE_MAX:
        raise MentoringError(
            "note_too_long", _l("Keep the note under %(n)s characters."), n=NOTE_MAX
        )
    return note


def _end(actor: User, now: datetime, mentorship: Mentorship, reason: str, note: str) -> Mentorship:
    """End the mentorship if it is still active (one statement: of two concurrent ends, the
    second finds it ended and is refused)."""
    ended = db.session.execute(
        update(Mentorship)
        .where(Mentorship.id == mentorship.id, Mentorship.ended_at.is_(None))
        .values(ended_at=now, ended_by_id=actor.id, end_reason=reason, end_note=note)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(mentorship)
    if ended.rowcount != 1:
        raise MentoringError(
            "mentorship_ended", _l("This mentorship has already ended."), status=409
        )
    return mentorship


def end_mentorship(
    *, actor: User, now: datetime, mentorship: Mentorship, reason: str, note: str = ""
) -> Mentorship:
    """End a mentorship with a reason (finished, moved away, stopped); it stays in the
    history. Reassigning goes through :func:`reassign`."""
    require_mentee_manager(actor, mentorship.person)
    if reason not in set(EndReason) or reason == EndReason.REASSIGNED:
        raise MentoringError("reason_invalid", _l("Choose why the mentorship ends."))
    note = _note(note)
    _open_transaction()
    _end(actor, now, mentorship, reason, note)
    current_app.logger.info("mentorship %s ended (%s) by %s", mentorship.id, reason, actor.username)
    return mentorship


def reassign(
    *, actor: User, now: datetime, mentorship: Mentorship, new_mentor: Mentor, note: str = ""
) -> Mentorship:
    """Give the mentee to another mentor: the old mentorship ends (reason ``reassigned``) and
    a new one starts at the same moment; both stay in the history. Returns the new one."""
    person = mentorship.person
    if new_mentor.id == mentorship.mentor_id:
        raise MentoringError("same_mentor", _l("This person already has this mentor."))
    _check_pair(actor, new_mentor, person)
    note = _note(note)
    _open_transaction()
    _end(actor, now, mentorship, EndReason.REASSIGNED, note)
    new = _start(actor, now, new_mentor, person)
    current_app.logger.info(
        "mentorship %s moved to mentor %s by %s", mentorship.id, new_mentor.id, actor.username
    )
    return new


# --- flags: under the minimum, overdue -----------------------------------------------------------


def under_minimum(mentor: Mentor, count: int | None = None) -> bool:
    """Whether an active mentor has fewer active mentees than the minimum (a flag, never a
    block). ``count`` saves a query when the caller has it (``queries.active_mentee_counts``)."""
    if not mentor.active:
        return False
    if count is None:
        count = queries.active_mentee_count(mentor)
    return count < mentee_minimum()


def last_contacts(person_ids: Iterable[int]) -> dict[int, datetime]:
    """The moment of each person's last *held* mentoring contact, by person id (people with
    none are left out): :func:`webapp.mentoring.meetings.last_contacts`, one query."""
    return meetings.last_contacts(person_ids)


@dataclass
class ContactStatus:
    """Where a mentorship stands against its mentee's contact frequency."""

    mentorship: Mentorship
    #: The last held contact, or None.
    last_contact: datetime | None
    #: The expected days between contacts (the mentee's target group).
    every_days: int
    #: Days (Vietnam calendar days) since the later of the last contact and the start.
    days_since: int
    #: The last day a contact is due on; the mentee is overdue from the day after.
    due_on: date

    @property
    def overdue(self) -> bool:
        return self.days_since > self.every_days

    @property
    def days_overdue(self) -> int:
        return max(0, self.days_since - self.every_days)


def contact_statuses(
    mentorships: Iterable[Mentorship],
    *,
    now: datetime,
    last_contact: Mapping[int, datetime] | None = None,
) -> list[ContactStatus]:
    """Each active mentorship against its mentee's frequency, most overdue first, then the
    soonest due. ``last_contact`` maps person id to the last held contact (default:
    :func:`last_contacts`). A contact before the mentorship started does not count: a new
    mentor has the whole period from the start."""
    active = [m for m in mentorships if m.active]
    if last_contact is None:
        last_contact = last_contacts(m.person_id for m in active)
    today = to_local(now).date()
    statuses = []
    for mentorship in active:
        contact = last_contact.get(mentorship.person_id)
        since = max(mentorship.started_at, contact) if contact else mentorship.started_at
        every = contact_days(mentorship.person.target_group)
        since_day = to_local(since).date()
        statuses.append(
            ContactStatus(
                mentorship=mentorship,
                last_contact=contact,
                every_days=every,
                days_since=(today - since_day).days,
                due_on=since_day + timedelta(days=every),
            )
        )
    return sorted(statuses, key=lambda s: (-s.days_overdue, s.due_on, s.mentorship.id))


def overdue(
    mentorships: Iterable[Mentorship],
    *,
    now: datetime,
    last_contact: Mapping[int, datetime] | None = None,
) -> list[ContactStatus]:
    """The mentorships whose mentee is past their contact frequency, most overdue first
    (a flag, never a block); see :func:`contact_statuses`."""
    return [
        s for s in contact_statuses(mentorships, now=now, last_contact=last_contact) if s.overdue
    ]


# --- suggestions ---------------------------------------------------------------------------------


@dataclass
class Suggestion:
    """Unmatched people to offer a mentor together: a household's unmatched members, or one
    person without a household."""

    household: Household | None
    people: list[Person]
    #: The most priority segments one of them has (0-3).
    priority: int


def _priority_score(year: int):
    """SQL: how many priority segments a person is in (0-3)."""
    terms = [case((segment_condition(s, year), 1), else_=0) for s in PRIORITY_SEGMENTS]
    return terms[0] + terms[1] + terms[2]


def suggestions(mentor: Mentor, *, now: datetime, limit: int = 10) -> list[Suggestion]:
    """Unmatched people of the mentor's village (where they work, else where they live) to
    offer them: nobody with an active mentorship, not the mentor, no active mentor. Whole
    households together (``limit`` counts households, and people without one); those with
    a person in more priority segments (older, disability, poor household) first, then more
    such people, then the oldest. Two queries."""
    year = to_local(now).date().year
    score = _priority_score(year)
    group = case((Person.household_id.is_(None), -Person.id), else_=Person.household_id)
    mentored = select(Mentorship.person_id).where(Mentorship.active)
    mentors = select(Mentor.person_id).where(Mentor.active)
    candidates = (
        select(group.label("g"), func.max(score).label("best"))
        .where(
            Person.commune_id == mentor.commune_id,
            Person.village_id == mentor.home_village_id,
            Person.id != mentor.person_id,
            Person.id.not_in(mentored),
            Person.id.not_in(mentors),
        )
        .group_by(group)
        .order_by(
            func.max(score).desc(),
            func.sum(case((score > 0, 1), else_=0)).desc(),
            func.min(Person.birth_year),
            group,
        )
        .limit(limit)
    )
    ranked = db.session.execute(candidates).all()
    return _load_suggestions(ranked, mentor, mentored, mentors)


def _load_suggestions(ranked, mentor: Mentor, mentored, mentors) -> list[Suggestion]:
    households = [g for g, _best in ranked if g > 0]
    singles = [-g for g, _best in ranked if g < 0]
    people = db.session.scalars(
        select(Person)
        .where(
            (Person.household_id.in_(households) | Person.id.in_(singles)),
            Person.village_id == mentor.home_village_id,
            Person.id != mentor.person_id,
            Person.id.not_in(mentored),
            Person.id.not_in(mentors),
        )
        .options(selectinload(Person.household))
        .order_by(Person.sort_key, Person.id)
    )
    members: dict[int, list[Person]] = {}
    for person in people:
        members.setdefault(person.household_id or -person.id, []).append(person)
    found = []
    for g, best in ranked:
        group_people = members.get(g, [])
        if group_people:
            household = group_people[0].household if g > 0 else None
            found.append(Suggestion(household, group_people, int(best)))
    return found
