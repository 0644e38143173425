"""Read-side scheduling queries: the trainer's day, the organiser's calendar, the public
schedule. All times in and out are aware datetimes; days are Vietnam days."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import selectinload

from webapp.accounts.models import User
from webapp.extensions import db
from webapp.people.models import Person
from webapp.permissions import MANAGERS, Role
from webapp.scheduling.access import require_runner
from webapp.scheduling.models import (
    ClassSession,
    ClassStatus,
    Course,
    CourseClass,
    CourseMaterial,
    Enrolment,
    EnrolmentStatus,
    SignupRequest,
    SignupStatus,
    Venue,
    class_trainers,
)
from webapp.text import collation_key, vietnamese_sorted
from webapp.timeutil import LOCAL_TZ, to_local

ACTIVE_ENROLMENT = (EnrolmentStatus.ENROLLED, EnrolmentStatus.WAITING)


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """Start and end (exclusive) of a Vietnam calendar day, as aware datetimes."""
    start = datetime.combine(day, time(), tzinfo=LOCAL_TZ)
    return start, start + timedelta(days=1)


def week_start(day: date) -> date:
    """The Monday of the week containing ``day``."""
    return day - timedelta(days=day.weekday())


def _counts_by_class(class_ids, status: EnrolmentStatus) -> dict[int, int]:
    """Number of enrolments of that status per class id."""
    if not class_ids:
        return {}
    rows = db.session.execute(
        select(Enrolment.class_id, func.count())
        .where(Enrolment.class_id.in_(set(class_ids)), Enrolment.status == status)
        .group_by(Enrolment.class_id)
    )
    return dict(rows.all())


def enrolled_counts(class_ids) -> dict[int, int]:
    """Number of enrolled learners per class id."""
    return _counts_by_class(class_ids, EnrolmentStatus.ENROLLED)


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


def own_class_ids(user: User) -> Select:
    """Ids of the classes that are the user's own: those they train, and for organisers and
    admins (who are not trainers of a class) also those they created."""
    trained = select(class_trainers.c.class_id).where(class_trainers.c.user_id == user.id)
    if user.role not in MANAGERS:
        return trained
    return trained.union(select(CourseClass.id).where(CourseClass.created_by_id == user.id))


def sessions_of_trainer(user: User, start: datetime, end: datetime) -> list[ClassSession]:
    """Sessions in [start, end) of the user's own classes (see ``own_class_ids``)."""
    stmt = _sessions_between(start, end).where(ClassSession.class_id.in_(own_class_ids(user)))
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
    user: User,
    start: datetime,
    end: datetime,
    *,
    village_id=None,
    trainer_id=None,
    group=None,
    segment=None,
) -> list[ClassSession]:
    """Sessions of the user's commune(s) in [start, end), filtered by the class's village,
    trainer, target group or segment."""
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
    if segment:
        sessions = [s for s in sessions if segment in (s.course_class.segments or [])]
    return sessions


def clashing_ids(sessions: list[ClassSession]) -> set[int]:
    """Ids of sessions that overlap another one of the same class, trainer or venue
    (cancelled sessions and sessions of cancelled classes never clash)."""
    active = sorted(
        (
            s
            for s in sessions
            if not s.is_cancelled and s.course_class.status != ClassStatus.CANCELLED
        ),
        key=lambda s: (s.starts_at, s.id),
    )
    found = set()
    for i, a in enumerate(active):
        trainers_a = {t.id for t in a.course_class.trainers}
        for b in active[i + 1 :]:
            if b.starts_at >= a.ends_at:
                break  # sorted by start: nothing later overlaps a
            shared_venue = a.venue_id is not None and a.venue_id == b.venue_id
            same_class = a.class_id == b.class_id
            if shared_venue or same_class or trainers_a & {t.id for t in b.course_class.trainers}:
                found |= {a.id, b.id}
    return found


def public_sessions(
    commune_id: int, now: datetime, *, village_id=None, days=60
) -> list[ClassSession]:
    """Upcoming sessions of a commune for the public schedule (cancelled ones included,
    marked as such, so nobody walks to a class that will not happen)."""
    stmt = _sessions_between(now, now + timedelta(days=days)).join(ClassSession.course_class)
    stmt = stmt.where(CourseClass.commune_id == commune_id)
    if village_id:  # the class's village, or else where it meets
        stmt = stmt.outerjoin(ClassSession.venue).where(
            or_(
                CourseClass.village_id == village_id,
                and_(CourseClass.village_id.is_(None), Venue.village_id == village_id),
            )
        )
    return list(db.session.scalars(stmt))


def classes_for(user: User) -> Select:
    """Classes the user runs: every class of the commune for managers, their own for trainers."""
    stmt = select(CourseClass).order_by(CourseClass.created_at.desc())
    if user.role in MANAGERS:
        return stmt if user.province_wide else stmt.where(CourseClass.commune_id == user.commune_id)
    trained = select(class_trainers.c.class_id).where(class_trainers.c.user_id == user.id)
    return stmt.where(CourseClass.id.in_(trained))


# --- courses, venues, classes and enrolment of the user's commune(s) ----------------------------


def in_communes_of(user: User, stmt: Select, commune_column) -> Select:
    """Restrict ``stmt`` to the user's commune (every commune for province-wide users)."""
    return stmt if user.province_wide else stmt.where(commune_column == user.commune_id)


# --- one record, if the user may see it ----------------------------------------------------------
# Outside the user's commune(s) a record is "not found" (404), never "forbidden": the answer does
# not confirm that it exists. ``for_running=True`` also asks that the user runs the class (403
# otherwise: the class is listed for them, so nothing is revealed).


def get_course(user: User, course_id: int) -> Course:
    """The course, if it is of the user's commune(s); else 404."""
    stmt = in_communes_of(user, select(Course), Course.commune_id)
    return db.first_or_404(stmt.where(Course.id == course_id))


def get_material(user: User, material_id: int) -> CourseMaterial:
    """The course material, if its course is of the user's commune(s); else 404."""
    stmt = in_communes_of(
        user, select(CourseMaterial).join(CourseMaterial.course), Course.commune_id
    )
    return db.first_or_404(stmt.where(CourseMaterial.id == material_id))


def get_venue(user: User, venue_id: int) -> Venue:
    """The venue, if it is of the user's commune(s); else 404."""
    stmt = in_communes_of(user, select(Venue), Venue.commune_id)
    return db.first_or_404(stmt.where(Venue.id == venue_id))


def get_class(user: User, class_id: int, *, for_running: bool = False) -> CourseClass:
    """The class, if it is of the user's commune(s) (else 404); with ``for_running``, only for
    its own trainers and the commune's managers (else 403)."""
    stmt = in_communes_of(user, select(CourseClass), CourseClass.commune_id)
    course_class = db.first_or_404(stmt.where(CourseClass.id == class_id))
    if for_running:
        require_runner(user, course_class)
    return course_class


def get_session(user: User, session_id: int, *, for_running: bool = False) -> ClassSession:
    """The session, if its class is of the user's commune(s) (else 404); with ``for_running``,
    only for those who run the class (else 403)."""
    stmt = in_communes_of(
        user, select(ClassSession).join(ClassSession.course_class), CourseClass.commune_id
    )
    session = db.first_or_404(stmt.where(ClassSession.id == session_id))
    if for_running:
        require_runner(user, session.course_class)
    return session


def get_enrolment(user: User, enrolment_id: int) -> Enrolment:
    """An enrolment, for those who run its class (404 outside their commune, 403 otherwise)."""
    stmt = in_communes_of(
        user, select(Enrolment).join(Enrolment.course_class), CourseClass.commune_id
    )
    enrolment = db.first_or_404(stmt.where(Enrolment.id == enrolment_id))
    require_runner(user, enrolment.course_class)
    return enrolment


def get_signup(user: User, signup_id: int) -> SignupRequest:
    """A sign-up request, for those who run its class (404 outside their commune, 403
    otherwise)."""
    stmt = in_communes_of(
        user, select(SignupRequest).join(SignupRequest.course_class), CourseClass.commune_id
    )
    signup = db.first_or_404(stmt.where(SignupRequest.id == signup_id))
    require_runner(user, signup.course_class)
    return signup


def visible_courses(user: User) -> list[Course]:
    """Courses of the user's commune(s), in Vietnamese title order."""
    stmt = in_communes_of(user, select(Course), Course.commune_id).options(
        selectinload(Course.classes)
    )
    return sorted(db.session.scalars(stmt), key=lambda c: collation_key(c.title))


def visible_venues(user: User) -> list[Venue]:
    """Venues of the user's commune(s), in Vietnamese name order."""
    stmt = in_communes_of(user, select(Venue), Venue.commune_id).options(
        selectinload(Venue.village)
    )
    return sorted(db.session.scalars(stmt), key=lambda v: collation_key(v.name))


def visible_classes(user: User, *, status: str | None = None) -> list[CourseClass]:
    """Classes of the user's commune(s), newest first, optionally of one status."""
    stmt = (
        in_communes_of(user, select(CourseClass), CourseClass.commune_id)
        .options(
            selectinload(CourseClass.course),
            selectinload(CourseClass.trainers),
            selectinload(CourseClass.village),
        )
        .order_by(CourseClass.created_at.desc(), CourseClass.id.desc())
    )
    if status:
        stmt = stmt.where(CourseClass.status == status)
    return list(db.session.scalars(stmt))


def waiting_counts(class_ids) -> dict[int, int]:
    """Number of people on the waiting list per class id."""
    return _counts_by_class(class_ids, EnrolmentStatus.WAITING)


def commune_trainers(commune_id: int | None) -> list[User]:
    """Active trainer accounts of a commune (of every commune when None), by name."""
    stmt = select(User).where(User.role == Role.TRAINER, User.active.is_(True))
    if commune_id is not None:
        stmt = stmt.where(User.commune_id == commune_id)
    return vietnamese_sorted(db.session.scalars(stmt), key=lambda u: u.full_name)


def roster(course_class: CourseClass) -> tuple[list[Enrolment], list[Enrolment]]:
    """(enrolled in Vietnamese name order, waiting list in the order it is served)."""
    rows = db.session.scalars(
        select(Enrolment)
        .join(Enrolment.person)
        .where(Enrolment.class_id == course_class.id, Enrolment.status.in_(ACTIVE_ENROLMENT))
        .options(selectinload(Enrolment.person).selectinload(Person.village))
        .order_by(Person.sort_key, Person.birth_year, Enrolment.id)
    ).all()
    enrolled = [e for e in rows if e.status == EnrolmentStatus.ENROLLED]
    waiting = sorted(
        (e for e in rows if e.status == EnrolmentStatus.WAITING), key=lambda e: (e.since, e.id)
    )
    return enrolled, waiting


def statuses_in_class(course_class: CourseClass, person_ids) -> dict[int, str]:
    """Enrolment status (enrolled, waiting, withdrawn) per person id, for those in the class."""
    if not person_ids:
        return {}
    rows = db.session.execute(
        select(Enrolment.person_id, Enrolment.status).where(
            Enrolment.class_id == course_class.id, Enrolment.person_id.in_(set(person_ids))
        )
    )
    return dict(rows.all())


def pending_signups(course_class: CourseClass) -> list[SignupRequest]:
    """Sign-up requests of the class still waiting for a decision, oldest first."""
    return list(
        db.session.scalars(
            select(SignupRequest)
            .where(
                SignupRequest.class_id == course_class.id,
                SignupRequest.status == SignupStatus.PENDING,
            )
            .options(selectinload(SignupRequest.village))
            .order_by(SignupRequest.created_at, SignupRequest.id)
        )
    )
