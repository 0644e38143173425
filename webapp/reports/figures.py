"""Every figure of the reports, from one place: an indicator's numerator, denominator and
percentage for each unit of a level (communes, villages or households) as of a moment.

Each measure is one SQL aggregate (GROUP BY the unit's column) over the registry and the
records of the other domains, read with their own dates so that a figure "as of" a past
moment is reproducible: a certificate counts from its issue until its revocation; evidence
from its recording until its withdrawal; attendance from when it was recorded; a person from
when they were registered, where they live now. No figure is computed in a Python loop over
people. The dashboard, the exports and a submitted report's snapshot all call
:func:`table`.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import selectinload

from webapp.extensions import db
from webapp.mentoring.models import Mentor, Mentorship
from webapp.mentoring.services import mentee_minimum
from webapp.people.models import Commune, Household, Person, Segment, Village
from webapp.people.queries import segment_condition
from webapp.reports import reach
from webapp.reports.models import (
    Denominator,
    Indicator,
    Measure,
    Population,
    Reach,
    ReachCount,
    ReachSpan,
)
from webapp.timeutil import LOCAL_TZ

#: The levels of the hierarchy, each grouping by one column.
LEVELS = ("commune", "village", "household")
VNEID_LEVEL2_MIN_AGE = 16


@dataclass(frozen=True)
class Scope:
    """Which units a figure covers: communes (None: every commune), one village, at a level."""

    level: str
    commune_ids: tuple[int, ...] | None
    village_id: int | None = None


@dataclass
class Figure:
    numerator: int
    denominator: int | None

    @property
    def pct(self) -> float | None:
        if not self.denominator:
            return None
        return round(100 * self.numerator / self.denominator, 1)

    @property
    def left(self) -> int | None:
        """People (households, mentors) still to reach to count them all."""
        if self.denominator is None:
            return None
        return max(0, self.denominator - self.numerator)


@dataclass
class Row:
    indicator: Indicator
    #: Unit id -> figure (units without any record are absent: 0 of 0).
    units: dict[int, Figure] = field(default_factory=dict)
    total: Figure = field(default_factory=lambda: Figure(0, 0))

    def gap(self, figure: Figure) -> float | None:
        """Percentage points short of the target (0 when reached)."""
        if figure.pct is None:
            return None
        return max(0.0, round(self.indicator.target_pct - figure.pct, 1))

    def short_of_target(self, figure: Figure) -> int | None:
        """People still to reach for the target ("còn 312 người")."""
        if figure.denominator is None:
            return None
        needed = -(-self.indicator.target_pct * figure.denominator // 100)
        return max(0, int(needed) - figure.numerator)


@dataclass
class Table:
    scope: Scope
    as_of: datetime
    year: int
    #: Unit id -> name, in display order.
    units: dict[int, str]
    rows: list[Row]
    #: People whose records changed but are not counted again yet (see reach.REFRESH_LIMIT).
    pending: int = 0


def end_of_day(day: date) -> datetime:
    """The last moment of a Vietnam calendar day (figures "as of" a day include all of it)."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=LOCAL_TZ) - timedelta(
        microseconds=1
    )


# --- the units -------------------------------------------------------------------------------


def _unit_column(level: str, model=Person):
    """The column a level groups by (households group themselves by their id)."""
    if model is Household and level == "household":
        return Household.id
    return getattr(model, f"{level}_id")


def _in_scope(stmt: Select, scope: Scope, model=Person) -> Select:
    if scope.commune_ids is not None:
        stmt = stmt.where(model.commune_id.in_(scope.commune_ids))
    if scope.village_id is not None:
        stmt = stmt.where(model.village_id == scope.village_id)
    return stmt


def unit_names(scope: Scope) -> dict[int, str]:
    """The units of the scope's level, in display order."""
    if scope.level == "commune":
        stmt = select(Commune.id, Commune.name).order_by(Commune.name)
        if scope.commune_ids is not None:
            stmt = stmt.where(Commune.id.in_(scope.commune_ids))
    elif scope.level == "village":
        stmt = _in_scope(
            select(Village.id, Village.name).order_by(Village.commune_id, Village.position),
            Scope("village", scope.commune_ids),
            Village,
        )
        if scope.village_id is not None:
            stmt = stmt.where(Village.id == scope.village_id)
    else:
        stmt = _in_scope(
            select(Household.id, Household.code).order_by(Household.code), scope, Household
        )
    return dict(db.session.execute(stmt).all())


# --- who counts ---------------------------------------------------------------------------------


def _keys(indicator: Indicator) -> tuple[str, str, list[str] | None]:
    """The spans an indicator counts: its numerator's measure, its population's, and the
    target groups (None: every group)."""
    if indicator.measure == Measure.HOUSEHOLD_TRAINED:
        return Measure.HOUSEHOLD_TRAINED, Reach.HOUSEHOLD, [""]
    population = (
        Reach.REGISTERED_16 if indicator.measure == Measure.VNEID_LEVEL2 else Reach.REGISTERED
    )
    groups = [indicator.target_group] if indicator.target_group else None
    return indicator.measure, population, groups


def _covering(as_of: datetime):
    return and_(ReachSpan.since <= as_of, or_(ReachSpan.until.is_(None), ReachSpan.until > as_of))


def _span_scope(stmt: Select, scope: Scope) -> Select:
    return _in_scope(stmt, scope, ReachSpan)


def _counts(scope: Scope, as_of: datetime, measures: set[str]) -> dict[tuple, int]:
    """``(unit, target group, measure) -> subjects counted at as_of`` for the scope.

    By household: the spans covering the moment, counted. By commune or village: the open
    spans' counts kept per village (``report_counts``), less the open spans that began after
    the moment, plus the closed ones that covered it — the corrections read only the spans
    that changed after ``as_of``, none for figures as of now."""
    reach.refresh()
    wanted = [str(m) for m in measures]
    found: dict[tuple, int] = {}

    def add(stmt, sign=1):
        for unit, group, measure, n in db.session.execute(stmt):
            if unit is not None:
                key = (unit, group, measure)
                found[key] = found.get(key, 0) + sign * int(n)

    if scope.level == "household":
        unit = ReachSpan.household_id
        add(
            _span_scope(
                select(unit, ReachSpan.target_group, ReachSpan.measure, func.count())
                .where(ReachSpan.measure.in_(wanted), _covering(as_of))
                .group_by(unit, ReachSpan.target_group, ReachSpan.measure),
                scope,
            )
        )
        return found
    counted = _unit_column(scope.level, ReachCount)
    stmt = (
        select(counted, ReachCount.target_group, ReachCount.measure, func.sum(ReachCount.count))
        .where(ReachCount.measure.in_(wanted))
        .group_by(counted, ReachCount.target_group, ReachCount.measure)
    )
    add(_in_scope(stmt, scope, ReachCount))
    unit = _unit_column(scope.level, ReachSpan)
    columns = (unit, ReachSpan.target_group, ReachSpan.measure, func.count())
    grouping = (unit, ReachSpan.target_group, ReachSpan.measure)
    began_later = select(*columns).where(
        ReachSpan.measure.in_(wanted), ReachSpan.until.is_(None), ReachSpan.since > as_of
    )
    ended_later = select(*columns).where(
        ReachSpan.measure.in_(wanted), ReachSpan.until > as_of, ReachSpan.since <= as_of
    )
    add(_span_scope(began_later.group_by(*grouping), scope), -1)
    add(_span_scope(ended_later.group_by(*grouping), scope))
    return found


def _sum(found: dict[tuple, int], measure: str, groups: list[str] | None) -> dict[int, int]:
    by_unit: dict[int, int] = {}
    for (unit, group, key), n in found.items():
        if key == measure and (groups is None or group in groups):
            by_unit[unit] = by_unit.get(unit, 0) + n
    return {unit: n for unit, n in by_unit.items() if n}


def reached(indicator: Indicator, as_of: datetime, column=Person.id):
    """The condition on a person's (household's) id that they count for an indicator at
    ``as_of``."""
    measure, _population, groups = _keys(indicator)
    stmt = select(ReachSpan.subject_id).where(ReachSpan.measure == str(measure), _covering(as_of))
    if groups is not None:
        stmt = stmt.where(ReachSpan.target_group.in_(groups))
    return column.in_(stmt)


def _in_population(indicator: Indicator, as_of: datetime):
    measure, population, groups = _keys(indicator)
    if measure == Measure.HOUSEHOLD_TRAINED:
        population = Reach.REGISTERED
    stmt = select(ReachSpan.subject_id).where(
        ReachSpan.measure == str(population), _covering(as_of)
    )
    if groups is not None and groups != [""]:
        stmt = stmt.where(ReachSpan.target_group.in_(groups))
    return Person.id.in_(stmt)


def _grouped(stmt: Select) -> tuple[dict[int, int], dict[int, int]]:
    """``(unit, counted, out of)`` rows as two maps: numerators and denominators by unit."""
    numerators, denominators = {}, {}
    for key, counted, total in db.session.execute(stmt):
        if key is not None:
            numerators[key], denominators[key] = int(counted or 0), int(total or 0)
    return numerators, denominators


def _mentor_village():
    return func.coalesce(Mentor.village_id, Person.village_id)


def _mentor_counts(scope: Scope, as_of: datetime):
    """Active mentors with at least the minimum of mentees, and all active mentors, by unit
    (their working village; the commune's by the village they live in), in one statement."""
    unit = {
        "commune": Mentor.commune_id,
        "village": _mentor_village(),
        "household": Person.household_id,
    }[scope.level]
    active = and_(
        Mentor.created_at <= as_of, or_(Mentor.ended_at.is_(None), Mentor.ended_at > as_of)
    )
    mentees = (
        select(func.count(Mentorship.id))
        .where(
            Mentorship.mentor_id == Mentor.id,
            Mentorship.started_at <= as_of,
            or_(Mentorship.ended_at.is_(None), Mentorship.ended_at > as_of),
        )
        .scalar_subquery()
    )
    counted = func.sum(case((mentees >= mentee_minimum(), 1), else_=0))
    stmt = (
        select(unit, counted, func.count(Mentor.id))
        .join(Person, Person.id == Mentor.person_id)
        .where(active)
    )
    if scope.commune_ids is not None:
        stmt = stmt.where(Mentor.commune_id.in_(scope.commune_ids))
    if scope.village_id is not None:
        stmt = stmt.where(_mentor_village() == scope.village_id)
    return _grouped(stmt.group_by(unit))


def _entered(indicator: Indicator, scope: Scope) -> dict[int, int] | None:
    """The populations the organiser entered, by unit (None at household level: entered per
    village only)."""
    if scope.level == "household":
        return None
    unit = Population.commune_id if scope.level == "commune" else Population.village_id
    stmt = select(unit, func.sum(Population.count)).where(
        Population.year == indicator.year, Population.target_group == indicator.target_group
    )
    if scope.commune_ids is not None:
        stmt = stmt.where(Population.commune_id.in_(scope.commune_ids))
    if scope.village_id is not None:
        stmt = stmt.where(Population.village_id == scope.village_id)
    return {key: int(total) for key, total in db.session.execute(stmt.group_by(unit)) if key}


def _needed(indicators: Iterable[Indicator]) -> set[str]:
    found = set()
    for indicator in indicators:
        if indicator.measure != Measure.MENTOR_MINIMUM:
            found.update(str(key) for key in _keys(indicator)[:2])
    return found


def counts_for(scope: Scope, as_of: datetime, indicators: Iterable[Indicator]) -> dict[tuple, int]:
    """The spans' counts every one of these indicators needs (pass them to :func:`row`)."""
    return _counts(scope, as_of, _needed(indicators))


def row(
    indicator: Indicator, scope: Scope, as_of: datetime, counts: dict[tuple, int] | None = None
) -> Row:
    """One indicator's figures for every unit of the scope, and their total, from the spans'
    ``counts`` (:func:`_counts`, read for several indicators at once by :func:`table`)."""
    if indicator.measure == Measure.MENTOR_MINIMUM:
        numerators, denominators = _mentor_counts(scope, as_of)
    else:
        if counts is None:
            counts = _counts(scope, as_of, _needed([indicator]))
        measure, population, groups = _keys(indicator)
        numerators = _sum(counts, measure, groups)
        denominators = _sum(counts, population, groups)
        if indicator.denominator == Denominator.ENTERED and indicator.target_group:
            entered = _entered(indicator, scope)
            if entered is not None:
                denominators = entered
                numerators = {k: v for k, v in numerators.items() if v or k in entered}
    found = Row(indicator)
    for unit in set(numerators) | set(denominators):
        found.units[unit] = Figure(numerators.get(unit, 0), denominators.get(unit, 0))
    found.total = Figure(sum(numerators.values()), sum(denominators.values()))
    return found


def indicators_of(year: int) -> list[Indicator]:
    """The indicators in force for a year, in the plan's order."""
    return list(
        db.session.scalars(
            select(Indicator)
            .where(Indicator.year == year, Indicator.replaced_at.is_(None))
            .order_by(Indicator.position, Indicator.id)
        )
    )


def table(
    scope: Scope, *, year: int, as_of: datetime, indicators: Iterable[Indicator] | None = None
) -> Table:
    """Every indicator of the year for the scope's units as of ``as_of``."""
    chosen = list(indicators) if indicators is not None else indicators_of(year)
    counts = counts_for(scope, as_of, chosen)
    return Table(
        scope=scope,
        as_of=as_of,
        year=year,
        units=unit_names(scope),
        rows=[row(indicator, scope, as_of, counts) for indicator in chosen],
        pending=reach.pending(),
    )


def left_to_reach(indicator: Indicator, scope: Scope, as_of: datetime) -> Select:
    """People of the indicator's population not yet counted (the door-to-door list)."""
    reach.refresh()
    if indicator.measure == Measure.HOUSEHOLD_TRAINED:
        # The members of the households without a trained member.
        missing = ~reached(indicator, as_of, Person.household_id)
        stmt = select(Person).where(
            _in_population(indicator, as_of), Person.household_id.is_not(None), missing
        )
    else:
        stmt = select(Person).where(_in_population(indicator, as_of), ~reached(indicator, as_of))
    return _in_scope(stmt, scope)


def indicator_in_force(code: str, year: int) -> Indicator | None:
    return db.session.scalar(
        select(Indicator).where(
            Indicator.code == code, Indicator.year == year, Indicator.replaced_at.is_(None)
        )
    )


def priority_first(stmt: Select, year: int) -> Select:
    """People in door-to-door order: the most priority segments first (older, disability,
    poor household), then by household and name."""
    score = (
        case((segment_condition(Segment.OLDER, year), 1), else_=0)
        + case((segment_condition(Segment.DISABILITY, year), 1), else_=0)
        + case((segment_condition(Segment.POOR_HOUSEHOLD, year), 1), else_=0)
    )
    return stmt.outerjoin(Household, Household.id == Person.household_id).order_by(
        score.desc(), Household.code, Person.sort_key, Person.id
    )


def left_people(indicator: Indicator, scope: Scope, as_of: datetime, *, limit: int) -> list[Person]:
    """The first ``limit`` people of :func:`left_to_reach`, door-to-door order, with their
    households."""
    year = as_of.astimezone(LOCAL_TZ).year
    stmt = priority_first(left_to_reach(indicator, scope, as_of), year)
    return list(db.session.scalars(stmt.options(selectinload(Person.household)).limit(limit)))


# --- frozen figures (a submitted report) ------------------------------------------------------


@dataclass(frozen=True)
class IndicatorInfo:
    """An indicator as a snapshot keeps it (the definitions the figures were computed with)."""

    id: int
    code: str
    year: int
    version: int
    target_group: str | None
    measure: str
    denominator: str
    target_pct: float
    name_vi: str
    name_en: str
    note: str

    @property
    def unit(self) -> str:
        from webapp.reports.models import MEASURE_UNITS

        return MEASURE_UNITS.get(self.measure, "person")


_INFO_FIELDS = [f for f in IndicatorInfo.__dataclass_fields__]


def snapshot(found: Table) -> dict:
    """The table as plain data (JSON): what a submitted report keeps, and what the
    machine-readable export is made of."""
    return {
        "as_of": found.as_of.isoformat(),
        "year": found.year,
        "level": found.scope.level,
        "commune_ids": list(found.scope.commune_ids) if found.scope.commune_ids else None,
        "village_id": found.scope.village_id,
        "units": [[unit_id, name] for unit_id, name in found.units.items()],
        "rows": [
            {
                "indicator": {name: getattr(r.indicator, name) for name in _INFO_FIELDS},
                "units": {str(k): [f.numerator, f.denominator] for k, f in r.units.items()},
                "total": [r.total.numerator, r.total.denominator],
            }
            for r in found.rows
        ],
    }


def from_snapshot(data: dict) -> Table:
    """A table again from :func:`snapshot`'s data (a submitted report shown or exported)."""
    ids = data.get("commune_ids")
    scope = Scope(data["level"], tuple(ids) if ids else None, data.get("village_id"))
    rows = []
    for item in data["rows"]:
        found = Row(IndicatorInfo(**item["indicator"]))
        found.units = {int(k): Figure(n, d) for k, (n, d) in item["units"].items()}
        found.total = Figure(*item["total"])
        rows.append(found)
    return Table(
        scope=scope,
        as_of=datetime.fromisoformat(data["as_of"]),
        year=data["year"],
        units={int(unit_id): name for unit_id, name in data["units"]},
        rows=rows,
    )
