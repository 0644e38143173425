"""Read-side scheduling queries: the trainer's day, the organiser's calendar, the public
schedule. All times in and out are aware datetimes; days are Vietnam days."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from webapp.accounts.models import User
from webapp.extensions import db
from webapp.permissions import MANAGERS
from webapp.scheduling.models import (
    ClassSession,
    CourseClass,
    Enrolment,
    EnrolmentStatus,
    class_trainers,
)
from webapp.timeutil import LOCAL_TZ, to_local


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """Start and end (exclusive) of a Vietnam calendar day, as aware datetimes."""
    start = datetime.combine(day, time(), tzinfo=LOCAL_TZ)
    return start, start + timedelta(days=1)


def week_start(day: date) -> date:
    """The Monday of the week containing ``day``."""
    return day - timedelta(days=day.weekday())


def enrolled_counts(class_ids) -> dict[int, int]:
    """Number of enrolled learners per class id."""
    if not class_ids:
        return {}
    rows = db.session.execute(
        select(Enrolment.class_id, func.count())
        .where(Enrolment.class_id.in_(set(class_ids)), Enrolment.status == EnrolmentStatus.ENROLLED)
        .group_by(Enrolment.class_id)
    )
    return dict(rows.all())


def _sessions_between(start: datetime, end: datetime) -> Select:
    return (
        select(ClassSession)
        .where(ClassSession.starts_at < end, ClassSession.ends_at > start)
        .options(
            selectinload(ClassSession.course_class).selectinload(CourseClass.course),
            selectinload(ClassSession.course_class).selectinload(CourseClass.trainers),
            selectinload(ClassSession.venue),
        )
        .order_by(ClassSession.starts_at, ClassSession.id)
    )


def sessions_of_trainer(user: User, start: datetime, end: datetime) -> list[ClassSession]:
    """Sessions in [start, end) of the classes the user trains."""
    classes = select(class_trainers.c.class_id).where(class_trainers.c.user_id == user.id)
    stmt = _sessions_between(start, end).where(ClassSession.class_id.in_(classes))
    return list(db.session.scalars(stmt))


@dataclass
class TrainerDay:
    today: list[ClassSession]
    rest_of_week: list[ClassSession]
    counts: dict[int, int]


def trainer_day(user: User, now: datetime) -> TrainerDay:
    """Today's sessions and the rest of this week's, with enrolment counts per class."""
    today = to_local(now).date()
    day_start, day_end = local_day_bounds(today)
    _, week_end = local_day_bounds(week_start(today) + timedelta(days=6))
    sessions = sessions_of_trainer(user, day_start, week_end)
    return TrainerDay(
        today=[s for s in sessions if s.starts_at < day_end],
        rest_of_week=[s for s in sessions if s.starts_at >= day_end],
        counts=enrolled_counts(s.class_id for s in sessions),
    )


def calendar_sessions(
    user: User, start: datetime, end: datetime, *, village_id=None, trainer_id=None, group=None
) -> list[ClassSession]:
    """Sessions of the user's commune(s) in [start, end), filtered."""
    stmt = _sessions_between(start, end).join(ClassSession.course_class)
    if not user.province_wide:
        stmt = stmt.where(CourseClass.commune_id == user.commune_id)
    if village_id:
        stmt = stmt.where(CourseClass.village_id == village_id)
    if trainer_id:
        stmt = stmt.where(
            CourseClass.id.in_(
                select(class_trainers.c.class_id).where(class_trainers.c.user_id == trainer_id)
            )
        )
    sessions = list(db.session.scalars(stmt))
    if group:  # JSON lists: filtered here, the same way on SQLite and PostgreSQL
        sessions = [s for s in sessions if group in (s.course_class.target_groups or [])]
    return sessions


def clashing_ids(sessions: list[ClassSession]) -> set[int]:
    """Ids of sessions that overlap another one sharing a trainer or the venue."""
    active = [s for s in sessions if not s.is_cancelled]
    found = set()
    for i, a in enumerate(active):
        trainers_a = {t.id for t in a.course_class.trainers}
        for b in active[i + 1 :]:
            if b.starts_at >= a.ends_at:
                break  # sorted by start: nothing later overlaps a
            shared_venue = a.venue_id is not None and a.venue_id == b.venue_id
            if shared_venue or trainers_a & {t.id for t in b.course_class.trainers}:
                found |= {a.id, b.id}
    return found


def public_sessions(commune_id: int, now: datetime, *, village_id=None, days=60) -> list[ClassSession]:
    """Upcoming sessions of a commune for the public schedule (cancelled ones included,
    marked as such, so nobody walks to a class that will not happen)."""
    stmt = _sessions_between(now, now + timedelta(days=days)).join(ClassSession.course_class)
    stmt = stmt.where(CourseClass.commune_id == commune_id)
    if village_id:
        stmt = stmt.where(CourseClass.village_id == village_id)
    return list(db.session.scalars(stmt))


def classes_for(user: User) -> Select:
    """Classes the user runs: every class of the commune for managers, their own for trainers."""
    stmt = select(CourseClass).order_by(CourseClass.created_at.desc())
    if user.role in MANAGERS:
        return stmt if user.province_wide else stmt.where(CourseClass.commune_id == user.commune_id)
    return stmt.where(
        CourseClass.id.in_(select(class_trainers.c.class_id).where(class_trainers.c.user_id == user.id))
    )
