"""Meetings: a mentor logs one in a few taps (who was there, where, how long, what was
practised, the competencies they saw the mentee do), a mentee confirms it on their own phone.

Who was there is attendance through the one attendance service
(:func:`webapp.checkin.services.check_in`, occasion kind "meeting",
:mod:`webapp.mentoring.occasion`): the same rows, the same refusals (``not_enrolled`` for
someone who is not the mentor's mentee), nothing recorded twice. A meeting not held (nobody
home) records the people visited as absent and counts as no contact.

Like every service: ``actor=`` and ``now=`` explicit, flush, never commit; refusals are
:class:`~webapp.mentoring.models.MentoringError` with a stable ``code`` (docs/mentoring.md).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from webapp.accounts.models import User
from webapp.checkin import services as attendance
from webapp.checkin.models import ATTENDED, Attendance, Device, Method, OccasionKind, Status
from webapp.extensions import db, savepoint
from webapp.learning import framework
from webapp.learning.models import Evidence, EvidenceKind
from webapp.learning.services import record_evidence
from webapp.mentoring.access import can_manage_mentor
from webapp.mentoring.models import (
    LATE_DAYS_DEFAULT,
    LATE_DAYS_KEY,
    Meeting,
    MeetingConfirmation,
    MeetingPlace,
    Mentor,
    MentoringError,
)
from webapp.mentoring.occasion import MeetingOccasion
from webapp.mentoring.queries import scope_mentors
from webapp.people.models import Person
from webapp.text import clean_lines
from webapp.timeutil import to_local

NOTE_MAX = 500
MINUTES_MIN, MINUTES_MAX = 5, 8 * 60
#: A meeting may be logged a little ahead (the phone's clock, a quick start).
AHEAD = timedelta(minutes=10)
#: How many days back a mentee is asked to confirm a meeting on their phone.
CONFIRM_DAYS = 7


def late_days() -> int:
    """Days after a meeting it may still be logged (``MENTORING_LATE_DAYS``, default 3)."""
    return int(current_app.config.get(LATE_DAYS_KEY, LATE_DAYS_DEFAULT))


def can_log(actor: User, mentor: Mentor) -> bool:
    """The mentor themselves (their linked log-in) or who manages them, while a mentor."""
    if not mentor.active:
        return False
    return mentor.user_id == actor.id or can_manage_mentor(actor, mentor)


def _refuse(error_code: str, message, /, *, status: int = 400, **params) -> MentoringError:
    return MentoringError(error_code, message, status=status, **params)


@dataclass(frozen=True)
class MeetingDetails:
    """What a mentor says of a meeting (the form, or an offline phone's queue)."""

    people: Sequence[Person]
    minutes: int
    place: str
    held: bool = True
    #: When it started (None: now).
    starts_at: datetime | None = None
    #: Competency codes practised.
    practised: Sequence[str] = ()
    #: (person id, code) pairs the mentor saw the mentee do: mentor-attestation evidence.
    attested: Iterable[tuple[int, str]] = ()
    note: str = ""
    nonce: str | None = None


def _check(details: MeetingDetails, now: datetime) -> tuple[datetime, list[str], set, str]:
    """The details' start, practised codes (framework order), attested pairs and note, or a
    refusal."""
    try:
        MeetingPlace(details.place)
    except ValueError:
        raise _refuse("place_invalid", _l("Please choose where the meeting took place.")) from None
    if not MINUTES_MIN <= (details.minutes or 0) <= MINUTES_MAX:
        raise _refuse(
            "minutes_invalid",
            _l("A meeting lasts from %(low)d minutes to %(high)d hours."),
            low=MINUTES_MIN,
            high=MINUTES_MAX // 60,
        )
    starts_at = details.starts_at or now
    if starts_at > now + AHEAD:
        raise _refuse("meeting_in_future", _l("A meeting is logged once it has taken place."))
    oldest = to_local(now).date() - timedelta(days=late_days())
    if to_local(starts_at).date() < oldest:
        raise _refuse(
            "meeting_too_old",
            _l("A meeting can be logged up to %(days)d days afterwards. Tell the organiser."),
            days=late_days(),
        )
    note = clean_lines(details.note)
    if len(note) > NOTE_MAX:
        raise _refuse("note_too_long", _l("The note is too long (500 characters at most)."))
    if not details.people:
        raise _refuse("nobody_present", _l("Please tick who you met (or tried to visit)."))
    names = framework.competency_names(framework.current_version())
    unknown = [c for c in details.practised if c not in names]
    if unknown:
        raise _refuse(
            "unknown_competency",
            _l("There is no competency %(code)s in the framework."),
            code=unknown[0],
        )
    practised = [c for c in names if c in set(details.practised)]
    attested = set(details.attested)
    if attested and not details.held:
        raise _refuse(
            "not_held_attested", _l("A visit where you met nobody cannot attest anything.")
        )
    present = {p.id for p in details.people}
    if any(pid not in present or code not in practised for pid, code in attested):
        raise _refuse(
            "attested_not_practised",
            _l("Attest only what was practised, for someone who was there."),
        )
    return starts_at, practised, attested, note


def _same_form(mentor: Mentor, nonce: str | None) -> Meeting | None:
    if not nonce:
        return None
    return db.session.scalar(
        select(Meeting).where(Meeting.mentor_id == mentor.id, Meeting.nonce == nonce)
    )


def log_meeting(*, actor: User, now: datetime, mentor: Mentor, details: MeetingDetails) -> Meeting:
    """Log a meeting and who was there, and record the mentor's attestations as evidence.

    The same form sent twice (the same ``nonce``) logs one meeting: the first is returned.
    """
    if not mentor.active:
        raise _refuse("mentor_ended", _l("This person is no longer a mentor."), status=409)
    if not can_log(actor, mentor):
        raise _refuse("not_allowed", _l("You may not log meetings for this mentor."), status=403)
    earlier = _same_form(mentor, details.nonce)
    if earlier is not None:
        return earlier
    starts_at, practised, attested, note = _check(details, now)
    ends_at = starts_at + timedelta(minutes=details.minutes)
    meeting = Meeting(
        mentor_id=mentor.id,
        commune_id=mentor.commune_id,
        starts_at=starts_at,
        ends_at=ends_at,
        place=details.place,
        held=details.held,
        competency_codes=practised,
        note=note,
        logged_at=now,
        logged_by_id=actor.id,
        entered_later=now > ends_at,
        nonce=details.nonce or None,
    )
    try:
        with savepoint():
            db.session.add(meeting)
            db.session.flush()
    except IntegrityError:  # the same form sent twice at the same moment
        return _same_form(mentor, details.nonce)
    if meeting.held:  # its QR, for a mentee's own phone
        attendance.point_for(MeetingOccasion(meeting), now=now)
    _record_who_was_there(meeting, details.people, actor=actor, now=now)
    _attest(meeting, mentor, details.people, attested, actor=actor, now=now)
    return meeting


def _record_who_was_there(meeting: Meeting, people, *, actor: User, now: datetime) -> None:
    occasion = MeetingOccasion(meeting)
    for person in people:
        if meeting.held:
            attendance.check_in(
                occasion, person, method=Method.ROSTER, now=now, actor=actor, at=meeting.starts_at
            )
        else:
            attendance.set_status(occasion, person, Status.ABSENT, actor=actor, now=now)


def _attest(meeting, mentor, people, attested, *, actor: User, now: datetime) -> None:
    by_id = {p.id: p for p in people}
    detail = {
        "meeting_id": meeting.id,
        "mentor_id": mentor.id,
        "mentor_name": mentor.person.full_name,
    }
    for person_id, code in sorted(attested):
        record_evidence(
            actor=actor,
            now=now,
            person=by_id[person_id],
            competency_code=code,
            kind=EvidenceKind.MENTOR,
            detail=detail,
        )


def attest(
    *, actor: User, now: datetime, meeting: Meeting, pairs: Iterable[tuple[int, str]]
) -> int:
    """After a meeting, the mentor attests "can do" for mentees who were there and
    competencies practised (the meeting's page): evidence of kind mentor, each pair once per
    meeting (one already recorded is skipped). The number recorded."""
    mentor = meeting.mentor
    if not can_log(actor, mentor):
        raise _refuse("not_allowed", _l("You may not log meetings for this mentor."), status=403)
    pairs = set(pairs)
    if pairs and not meeting.held:
        raise _refuse(
            "not_held_attested", _l("A visit where you met nobody cannot attest anything.")
        )
    present = {
        pid for pid, status in attendees([meeting.id])[meeting.id].items() if status in ATTENDED
    }
    if any(pid not in present or code not in meeting.competency_codes for pid, code in pairs):
        raise _refuse(
            "attested_not_practised",
            _l("Attest only what was practised, for someone who was there."),
        )
    done = {(pid, code) for pid, codes in attested_at(meeting).items() for code in codes}
    new = pairs - done
    people = {
        p.id: p
        for p in db.session.scalars(select(Person).where(Person.id.in_({p for p, _ in new})))
    }
    _attest(meeting, mentor, people.values(), new, actor=actor, now=now)
    return len(new)


def attested_at(meeting: Meeting) -> dict[int, set[str]]:
    """Person id -> the codes attested (not withdrawn) at this meeting."""
    found: dict[int, set[str]] = {}
    for evidence in db.session.scalars(
        select(Evidence).where(
            Evidence.kind == EvidenceKind.MENTOR,
            Evidence.withdrawn_at.is_(None),
            Evidence.recorded_at >= meeting.logged_at,
            Evidence.person_id.in_(
                select(Attendance.person_id).where(
                    Attendance.occasion_kind == OccasionKind.MEETING,
                    Attendance.occasion_id == meeting.id,
                )
            ),
        )
    ):
        if evidence.detail.get("meeting_id") == meeting.id:
            found.setdefault(evidence.person_id, set()).add(evidence.competency_code)
    return found


def record_by_code(
    *, actor: User, now: datetime, meeting: Meeting, code: str, method: Method = Method.CODE
) -> Person:
    """The mentor types the code of a mentee's learner card: the mentee is recorded present.
    A code that is nobody's and a code of someone who is not the mentor's mentee get the same
    answer, naming nobody (a mentor does not read the registry)."""
    occasion = MeetingOccasion(meeting)
    person = db.session.scalar(
        select(Person).where(
            Person.learner_code == attendance.normalise_code(code or ""),
            Person.id.in_(occasion.members()),
        )
    )
    if person is None:
        raise _refuse(
            "unknown_learner_code",
            _l("None of your mentees has this learner code. Please check it."),
        )
    record_present(actor=actor, now=now, meeting=meeting, person=person, method=method)
    return person


def record_present(
    *, actor: User, now: datetime, meeting: Meeting, person: Person, method: Method
) -> attendance.Result:
    """The mentor scanned the mentee's learner card (or typed its code, or ticked them) at
    a meeting: the attendance service's check-in, once."""
    if not meeting.held:
        raise _refuse("not_held", _l("Nobody was met at this visit."), status=409)
    return attendance.check_in(
        MeetingOccasion(meeting), person, method=method, now=now, actor=actor
    )


# --- reading ---------------------------------------------------------------------------------


def get_meeting(user: User, meeting_id: int, *, for_logging: bool = False) -> Meeting:
    """The meeting, if the user may see its mentor (``queries.scope_mentors``; else 404);
    with ``for_logging``, only if the user may log for that mentor (else 403)."""
    stmt = (
        select(Meeting)
        .join(Mentor, Mentor.id == Meeting.mentor_id)
        .where(Meeting.id == meeting_id, Mentor.id.in_(scope_mentors(select(Mentor.id), user)))
    )
    meeting = db.first_or_404(stmt.options(selectinload(Meeting.mentor)))
    if for_logging and not can_log(user, meeting.mentor):
        raise _refuse("not_allowed", _l("You may not log meetings for this mentor."), status=403)
    return meeting


def _attended_rows():
    """Attendance at held meetings, joined to them."""
    return and_(
        Attendance.occasion_kind == OccasionKind.MEETING,
        Attendance.occasion_id == Meeting.id,
        Attendance.status.in_(ATTENDED),
        Meeting.held.is_(True),
    )


def last_contacts(person_ids: Iterable[int]) -> dict[int, datetime]:
    """The start of each person's last held meeting they attended (one query)."""
    ids = list(set(person_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(Attendance.person_id, func.max(Meeting.starts_at))
        .join(Meeting, _attended_rows())
        .where(Attendance.person_id.in_(ids))
        .group_by(Attendance.person_id)
    )
    return {person_id: at for person_id, at in rows}


def meeting_hours(person_ids: Iterable[int]) -> dict[int, float]:
    """Hours of the held meetings each person attended (one query)."""
    return MeetingOccasion.attended_hours(person_ids)


def attendees(meeting_ids: Iterable[int]) -> dict[int, dict[int, str]]:
    """Meeting id -> person id -> status (one query)."""
    ids = list(set(meeting_ids))
    found: dict[int, dict[int, str]] = {i: {} for i in ids}
    if ids:
        for meeting_id, person_id, status in db.session.execute(
            select(Attendance.occasion_id, Attendance.person_id, Attendance.status).where(
                Attendance.occasion_kind == OccasionKind.MEETING,
                Attendance.occasion_id.in_(ids),
            )
        ):
            found[meeting_id][person_id] = status
    return found


def confirmed_ids(meeting_ids: Iterable[int]) -> dict[int, set[int]]:
    """Meeting id -> the people who confirmed it (one query)."""
    ids = list(set(meeting_ids))
    found: dict[int, set[int]] = {i: set() for i in ids}
    if ids:
        for meeting_id, person_id in db.session.execute(
            select(MeetingConfirmation.meeting_id, MeetingConfirmation.person_id).where(
                MeetingConfirmation.meeting_id.in_(ids)
            )
        ):
            found[meeting_id].add(person_id)
    return found


def meetings_of(mentor: Mentor, *, since: datetime | None = None, limit: int = 50) -> list[Meeting]:
    """The mentor's meetings, latest first."""
    stmt = select(Meeting).where(Meeting.mentor_id == mentor.id)
    if since is not None:
        stmt = stmt.where(Meeting.starts_at >= since)
    return list(db.session.scalars(stmt.order_by(Meeting.starts_at.desc()).limit(limit)))


@dataclass(frozen=True)
class ToConfirm:
    """A held meeting a phone's person attended and has not confirmed yet."""

    meeting_id: int
    person_id: int
    starts_at: datetime
    mentor_name: str


def unconfirmed_for(person_ids: Iterable[int], *, now: datetime) -> list[ToConfirm]:
    """The held meetings of the last week these people attended and have not confirmed
    (one query), latest first."""
    ids = list(set(person_ids))
    if not ids:
        return []
    confirmed = (
        select(MeetingConfirmation.id)
        .where(
            MeetingConfirmation.meeting_id == Meeting.id,
            MeetingConfirmation.person_id == Attendance.person_id,
        )
        .exists()
    )
    rows = db.session.execute(
        select(Meeting.id, Attendance.person_id, Meeting.starts_at, Person.full_name)
        .join(Meeting, _attended_rows())
        .join(Mentor, Mentor.id == Meeting.mentor_id)
        .join(Person, Person.id == Mentor.person_id)
        .where(
            Attendance.person_id.in_(ids),
            Meeting.starts_at >= now - timedelta(days=CONFIRM_DAYS),
            ~confirmed,
        )
        .order_by(Meeting.starts_at.desc())
    )
    return [ToConfirm(*row) for row in rows]


def confirm(*, now: datetime, meeting_id: int, person_id: int, device_key: str | None) -> None:
    """A mentee confirms, on their remembered phone (``device_key``), that they met their
    mentor (once; a second tap changes nothing). Only a held meeting of the last week the
    person attended can be confirmed."""
    if _confirmed(meeting_id, person_id):
        return
    if not any(c.meeting_id == meeting_id for c in unconfirmed_for([person_id], now=now)):
        raise _refuse("not_attended", _l("There is no such meeting to confirm."), status=404)
    device_id = db.session.scalar(
        select(Device.id).where(
            Device.key == (device_key or ""),
            Device.person_id == person_id,
            Device.revoked_at.is_(None),
        )
    )
    try:
        with savepoint():
            db.session.add(
                MeetingConfirmation(
                    meeting_id=meeting_id,
                    person_id=person_id,
                    device_id=device_id,
                    confirmed_at=now,
                )
            )
    except IntegrityError:  # two taps at once
        pass


def _confirmed(meeting_id: int, person_id: int) -> bool:
    return (
        db.session.scalar(
            select(MeetingConfirmation.id).where(
                MeetingConfirmation.meeting_id == meeting_id,
                MeetingConfirmation.person_id == person_id,
            )
        )
        is not None
    )
