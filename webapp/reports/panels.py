"""The dashboard's heavier panels: an indicator's month-by-month trend, the classes and
sessions held with their attendance rate, and the learners by segment and by sex.

Each is computed for the dashboard's scope and year as of a moment, in SQL aggregates
grouped by the unit's column (no Python loop over people). Attendance follows the rule of
:mod:`webapp.checkin.records`: a session counts once it has started unless it was cancelled
(:func:`~webapp.checkin.records.is_held`), present and late count as attended, and a class's
expected records are its learners (enrolled, or with a record in one of its sessions) times
its sessions held, as on the class grid.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, func, select, union

from webapp.checkin.models import ATTENDED, Attendance, OccasionKind
from webapp.extensions import db
from webapp.people.models import DisabilityType, Person, Segment, Sex, TargetGroup, Village
from webapp.people.queries import segment_condition
from webapp.reports import figures
from webapp.reports.figures import Scope
from webapp.reports.models import Indicator
from webapp.scheduling.models import ClassSession, CourseClass, Enrolment, EnrolmentStatus
from webapp.timeutil import LOCAL_TZ

# --- the year --------------------------------------------------------------------------------


def year_start(year: int) -> datetime:
    """The first moment of a Vietnam calendar year."""
    return datetime.combine(date(year, 1, 1), time(), tzinfo=LOCAL_TZ)


def month_ends(year: int, as_of: datetime) -> list[tuple[int, datetime]]:
    """Each month of the year begun by ``as_of``, with the moment its figures are taken: the
    month's last moment, or ``as_of`` in the month under way."""
    found = []
    for month in range(1, 13):
        first = datetime.combine(date(year, month, 1), time(), tzinfo=LOCAL_TZ)
        if first > as_of:
            break
        following = date(year + month // 12, month % 12 + 1, 1)
        found.append((month, min(figures.end_of_day(following - timedelta(days=1)), as_of)))
    return found


def _held_in(year: int, as_of: datetime):
    """Sessions of the year held by ``as_of`` (records.is_held, in SQL)."""
    return and_(
        ClassSession.cancelled_at.is_(None),
        ClassSession.starts_at <= as_of,
        ClassSession.starts_at >= year_start(year),
        ClassSession.starts_at < year_start(year + 1),
    )


# --- 1. the trend ----------------------------------------------------------------------------


@dataclass
class TrendLine:
    indicator: Indicator
    #: (month, the total figure at its end), for the months begun so far.
    points: list[tuple[int, figures.Figure]]


def trend(indicators: list[Indicator], scope: Scope, year: int, as_of: datetime) -> list[TrendLine]:
    """The total of each indicator at the end of each month of the year up to ``as_of``.

    The spans are counted once per month for every indicator (:func:`figures.counts_for`);
    the panel still loads lazily, after the page.
    """
    months = month_ends(year, as_of)
    counted = {m: figures.counts_for(scope, at, indicators) for m, at in months}
    return [
        TrendLine(
            indicator,
            [(m, figures.row(indicator, scope, at, counted[m]).total) for m, at in months],
        )
        for indicator in indicators
    ]


# --- 2. classes, sessions, attendance ---------------------------------------------------------


@dataclass
class Activity:
    """Classes and sessions held, attended and expected records: unit id -> count (the key
    None: the commune's classes of no village)."""

    classes: dict[int | None, int] = field(default_factory=dict)
    sessions: dict[int | None, int] = field(default_factory=dict)
    attended: dict[int | None, int] = field(default_factory=dict)
    expected: dict[int | None, int] = field(default_factory=dict)

    def units(self) -> set:
        return set(self.classes) | set(self.expected)

    def rate(self, unit=None, *, total: bool = False) -> float | None:
        """Attended / expected records in percent (None before any session was held)."""
        attended = sum(self.attended.values()) if total else self.attended.get(unit, 0)
        expected = sum(self.expected.values()) if total else self.expected.get(unit, 0)
        return round(100 * attended / expected, 1) if expected else None


def _class_unit(scope: Scope):
    return CourseClass.commune_id if scope.level == "commune" else CourseClass.village_id


def _classes_in_scope(stmt, scope: Scope):
    if scope.commune_ids is not None:
        stmt = stmt.where(CourseClass.commune_id.in_(scope.commune_ids))
    if scope.village_id is not None:
        stmt = stmt.where(CourseClass.village_id == scope.village_id)
    return stmt


def _by_class_unit(stmt, scope: Scope) -> dict[int | None, int]:
    """``stmt`` (a count over a FROM that has the classes) by the classes' unit."""
    unit = _class_unit(scope)
    stmt = _classes_in_scope(stmt.add_columns(unit), scope).group_by(unit)
    return {key: int(count or 0) for count, key in db.session.execute(stmt)}


def class_units(scope: Scope) -> dict[int | None, str]:
    """The rows of the activity panel: the scope's communes or villages (a village lead's
    village), and at village level the commune's classes of no village (None)."""
    if scope.level == "household":
        stmt = select(Village.id, Village.name).where(Village.id == scope.village_id)
        return dict(db.session.execute(stmt).all())
    return figures.unit_names(scope)


def activity(scope: Scope, year: int, as_of: datetime) -> Activity:
    """Classes with a session held in the year, those sessions, and the attendance rate of
    their records, by the classes' unit (a village lead's: their village's classes)."""
    held = _held_in(year, as_of)
    sessions = select(ClassSession.class_id).where(held)
    found = Activity()
    found.classes = _by_class_unit(
        select(func.count(func.distinct(CourseClass.id))).where(CourseClass.id.in_(sessions)),
        scope,
    )
    found.sessions = _by_class_unit(
        select(func.count(ClassSession.id)).join_from(ClassSession, CourseClass).where(held),
        scope,
    )
    records = and_(
        Attendance.occasion_kind == OccasionKind.SESSION,
        Attendance.occasion_id == ClassSession.id,
        Attendance.recorded_at <= as_of,
    )
    found.attended = _by_class_unit(
        select(func.count(Attendance.id))
        .join_from(ClassSession, CourseClass)
        .join(Attendance, records)
        .where(held, Attendance.status.in_(ATTENDED)),
        scope,
    )
    found.expected = _by_class_unit(_expected(held, records), scope)
    return found


def _expected(held, records):
    """Learners times sessions held, class by class (the grid's rows times its held columns)."""
    learners = union(
        select(Enrolment.class_id, Enrolment.person_id).where(
            Enrolment.status == EnrolmentStatus.ENROLLED
        ),
        select(ClassSession.class_id, Attendance.person_id).join(Attendance, records),
    ).subquery()
    per_class = (
        select(learners.c.class_id, func.count().label("n"))
        .group_by(learners.c.class_id)
        .subquery()
    )
    held_per_class = (
        select(ClassSession.class_id, func.count().label("n"))
        .where(held)
        .group_by(ClassSession.class_id)
        .subquery()
    )
    return (
        select(func.sum(per_class.c.n * held_per_class.c.n))
        .select_from(per_class)
        .join(held_per_class, held_per_class.c.class_id == per_class.c.class_id)
        .join(CourseClass, CourseClass.id == per_class.c.class_id)
    )


# --- 3. learners -----------------------------------------------------------------------------

#: The learners' columns: a key and the condition on Person (the year: for 'older').
LEARNER_COLUMNS = (
    "female",
    "male",
    Segment.OLDER,
    Segment.DISABILITY,
    *(f"disability_{kind}" for kind in DisabilityType),
    "worker",
    Segment.TRADER_FARMER,
    Segment.ETHNIC_MINORITY,
    Segment.POOR_HOUSEHOLD,
)


def _learner_condition(key: str, year: int):
    if key in (Sex.FEMALE, Sex.MALE):
        return Person.sex == key
    if key == "worker":
        return Person.target_group == TargetGroup.ENTERPRISE_WORKER
    if key.startswith("disability_"):
        return Person.disability == key.removeprefix("disability_")
    return segment_condition(key, year)


@dataclass
class Learners:
    #: Unit id (None: people of no household, at household level) -> column -> count; the
    #: column "all" is every learner.
    units: dict[int | None, dict[str, int]]

    def total(self, key: str) -> int:
        return sum(counts[key] for counts in self.units.values())


def learned(year: int, as_of: datetime):
    """The condition on Person that they attended a session held in the year by ``as_of``."""
    return (
        select(Attendance.id)
        .join(ClassSession, ClassSession.id == Attendance.occasion_id)
        .where(
            Attendance.person_id == Person.id,
            Attendance.occasion_kind == OccasionKind.SESSION,
            Attendance.status.in_(ATTENDED),
            Attendance.recorded_at <= as_of,
            _held_in(year, as_of),
        )
        .exists()
    )


def learners(scope: Scope, year: int, as_of: datetime) -> Learners:
    """People who attended at least one session in the year, by unit (where they live now),
    by sex and segment: one GROUP BY."""
    unit = figures._unit_column(scope.level)
    counted = [
        func.sum(case((_learner_condition(key, year), 1), else_=0)) for key in LEARNER_COLUMNS
    ]
    stmt = select(unit, func.count(Person.id), *counted).where(learned(year, as_of))
    stmt = figures._in_scope(stmt, scope).group_by(unit)
    return Learners(
        {
            key: dict(zip(("all", *LEARNER_COLUMNS), (int(n or 0) for n in counts), strict=True))
            for key, *counts in db.session.execute(stmt)
        }
    )
