"""Scheduling rules: courses, venues, classes, sessions and clash detection."""

import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import false, or_, select

from webapp.accounts.models import User
from webapp.errors import DomainError
from webapp.extensions import db
from webapp.permissions import MANAGERS, Role
from webapp.scheduling.models import (
    ClassSession,
    ClassStatus,
    Course,
    CourseClass,
    Venue,
    class_trainers,
)
from webapp.scheduling.series import PlannedSession
from webapp.text import clean

PLANNERS = MANAGERS | {Role.TRAINER}


# --- who may do what ------------------------------------------------------------------------


def in_commune(actor: User, commune_id: int) -> bool:
    """True when the actor works in that commune (or province-wide)."""
    return actor.province_wide or actor.commune_id == commune_id


def require_planner(actor: User, commune_id: int) -> None:
    """Managers and trainers plan courses, venues and classes in their own commune."""
    if actor.role not in PLANNERS or not in_commune(actor, commune_id):
        raise DomainError("not_allowed", _l("You may not plan classes here."), status=403)


def can_run(actor: User, course_class: CourseClass) -> bool:
    """Managers of the commune and the class's own trainers run a class."""
    if actor.role in MANAGERS:
        return in_commune(actor, course_class.commune_id)
    return any(t.id == actor.id for t in course_class.trainers)


def require_runner(actor: User, course_class: CourseClass) -> None:
    """Raise 403 unless the actor may run the class (sessions, enrolment)."""
    if not can_run(actor, course_class):
        raise DomainError("not_allowed", _l("Only this class's trainers or an organiser may do this."),
                          status=403)


# --- courses, venues, classes ------------------------------------------------------------------


def create_course(*, actor: User, now: datetime, commune_id: int, **fields) -> Course:
    """Create a course in the actor's commune."""
    require_planner(actor, commune_id)
    if not clean(fields.get("title")):
        raise DomainError("title_missing", _l("Give the course a title."))
    course = Course(commune_id=commune_id, created_by_id=actor.id, created_at=now, **fields)
    db.session.add(course)
    db.session.flush()
    current_app.logger.info("course %s created by %s", course.id, actor.username)
    return course


def update_course(*, actor: User, now: datetime, course: Course, **fields) -> Course:
    """Change a course's description."""
    require_planner(actor, course.commune_id)
    if not clean(fields.get("title", course.title)):
        raise DomainError("title_missing", _l("Give the course a title."))
    for name, value in fields.items():
        setattr(course, name, value)
    db.session.flush()
    return course


def create_venue(*, actor: User, now: datetime, commune_id: int, **fields) -> Venue:
    """Register a venue (cultural house, school room, commune hall)."""
    require_planner(actor, commune_id)
    if not clean(fields.get("name")):
        raise DomainError("name_missing", _l("Give the venue a name."))
    venue = Venue(commune_id=commune_id, **fields)
    db.session.add(venue)
    db.session.flush()
    return venue


def update_venue(*, actor: User, now: datetime, venue: Venue, **fields) -> Venue:
    """Change a venue."""
    require_planner(actor, venue.commune_id)
    for name, value in fields.items():
        setattr(venue, name, value)
    db.session.flush()
    return venue


def create_class(
    *, actor: User, now: datetime, course: Course, trainer_ids: list[int], **fields
) -> CourseClass:
    """Open a class (cohort) of a course; a trainer who creates it is one of its trainers."""
    require_planner(actor, course.commune_id)
    if fields.get("capacity", 0) < 1:
        raise DomainError("capacity_invalid", _l("The class needs at least one seat."))
    ids = set(trainer_ids) | ({actor.id} if actor.role == Role.TRAINER else set())
    trainers = list(db.session.scalars(select(User).where(User.id.in_(ids)))) if ids else []
    if any(t.role != Role.TRAINER or t.commune_id != course.commune_id for t in trainers):
        raise DomainError("trainer_invalid", _l("Choose trainers of this commune."))
    course_class = CourseClass(
        course=course, commune_id=course.commune_id, trainers=trainers, created_by_id=actor.id,
        created_at=now, public_token=secrets.token_urlsafe(16), **fields,
    )  # fmt: skip
    db.session.add(course_class)
    db.session.flush()
    current_app.logger.info("class %s created by %s", course_class.id, actor.username)
    return course_class


def update_class(*, actor: User, now: datetime, course_class: CourseClass, trainer_ids=None,
                 **fields) -> CourseClass:
    """Change a class; a larger capacity promotes people from the waiting list."""
    require_runner(actor, course_class)
    if "capacity" in fields and fields["capacity"] < 1:
        raise DomainError("capacity_invalid", _l("The class needs at least one seat."))
    if "status" in fields and fields["status"] not in set(ClassStatus):
        raise DomainError("status_invalid", _l("Unknown class status."))
    if trainer_ids is not None:
        trainers = list(db.session.scalars(select(User).where(User.id.in_(trainer_ids))))
        if any(t.role != Role.TRAINER or t.commune_id != course_class.commune_id for t in trainers):
            raise DomainError("trainer_invalid", _l("Choose trainers of this commune."))
        course_class.trainers = trainers
    for name, value in fields.items():
        setattr(course_class, name, value)
    db.session.flush()
    from webapp.scheduling.enrolment import promote_waiting

    promote_waiting(course_class, now=now)
    return course_class


# --- sessions and clashes ----------------------------------------------------------------------


@dataclass
class Clash:
    """An existing session that overlaps a planned one."""

    planned: PlannedSession
    existing: ClassSession
    reason: str  # "trainer" or "venue"


def find_clashes(
    course_class: CourseClass, venue_id: int | None, planned: list[PlannedSession],
    *, ignore_session_id: int | None = None,
) -> list[Clash]:  # fmt: skip
    """Overlapping, not cancelled sessions of the same trainers or at the same venue."""
    trainer_ids = [t.id for t in course_class.trainers]
    clashes = []
    for p in planned:
        stmt = (
            select(ClassSession)
            .where(ClassSession.cancelled_at.is_(None))
            .where(ClassSession.starts_at < p.ends_at, ClassSession.ends_at > p.starts_at)
            .where(
                or_(
                    ClassSession.class_id.in_(
                        select(class_trainers.c.class_id).where(
                            class_trainers.c.user_id.in_(trainer_ids)
                        )
                    ),
                    ClassSession.venue_id == venue_id if venue_id else false(),
                )
            )
        )
        if ignore_session_id:
            stmt = stmt.where(ClassSession.id != ignore_session_id)
        for existing in db.session.scalars(stmt):
            same_venue = venue_id is not None and existing.venue_id == venue_id
            clashes.append(Clash(p, existing, "venue" if same_venue else "trainer"))
    return clashes


def _refuse_or_override(actor, now, clashes, override_note, sessions_out) -> None:
    if not clashes:
        return
    if override_note is None or actor.role not in MANAGERS:
        error = DomainError(
            "session_clash",
            _l("A trainer or the venue is already booked at that time."),
            status=409,
        )
        error.clashes = clashes
        raise error
    for session in sessions_out:
        session.clash_override_by_id = actor.id
        session.clash_override_at = now
        session.clash_override_note = clean(override_note)[:300]


def add_sessions(
    *, actor: User, now: datetime, course_class: CourseClass, planned: list[PlannedSession],
    venue_id: int | None, topic: str = "", note: str = "", override_note: str | None = None,
) -> list[ClassSession]:  # fmt: skip
    """Add one session or a whole series; refuse clashes unless an organiser overrides."""
    require_runner(actor, course_class)
    _check_venue(venue_id, course_class)
    sessions = [
        ClassSession(course_class=course_class, venue_id=venue_id, starts_at=p.starts_at,
                     ends_at=p.ends_at, topic=clean(topic), note=note or "", created_at=now)
        for p in planned
    ]  # fmt: skip
    _refuse_or_override(actor, now, find_clashes(course_class, venue_id, planned), override_note,
                        sessions)
    db.session.add_all(sessions)
    db.session.flush()
    current_app.logger.info("%d sessions added to class %s by %s", len(sessions), course_class.id,
                            actor.username)
    return sessions


def _check_venue(venue_id: int | None, course_class: CourseClass) -> None:
    if venue_id is None:
        return
    venue = db.session.get(Venue, venue_id)
    if venue is None or venue.commune_id != course_class.commune_id:
        raise DomainError("venue_invalid", _l("Choose a venue of this commune."))


def update_session(
    *, actor: User, now: datetime, session: ClassSession, planned: PlannedSession,
    venue_id: int | None, topic: str, note: str, override_note: str | None = None,
) -> ClassSession:  # fmt: skip
    """Move or change one session (same clash rules as adding)."""
    require_runner(actor, session.course_class)
    if session.is_cancelled:
        raise DomainError("session_cancelled", _l("This session was cancelled."))
    _check_venue(venue_id, session.course_class)
    clashes = find_clashes(session.course_class, venue_id, [planned], ignore_session_id=session.id)
    _refuse_or_override(actor, now, clashes, override_note, [session])
    session.starts_at, session.ends_at = planned.starts_at, planned.ends_at
    session.venue_id, session.topic, session.note = venue_id, clean(topic), note or ""
    db.session.flush()
    return session


def cancel_session(*, actor: User, now: datetime, session: ClassSession, reason: str) -> None:
    """Cancel one session with a reason; it stays visible as cancelled."""
    require_runner(actor, session.course_class)
    if session.is_cancelled:
        raise DomainError("session_cancelled", _l("This session was already cancelled."))
    if not clean(reason):
        raise DomainError("reason_missing", _l("Say why the session is cancelled."))
    session.cancelled_at, session.cancelled_by_id = now, actor.id
    session.cancel_reason = clean(reason)[:300]
    db.session.flush()
    current_app.logger.info("session %s cancelled by %s", session.id, actor.username)
