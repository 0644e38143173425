"""Who counts for each measure, and since when: the figures' one source, kept current.

For every person the spans of time they counted in a population (registered; aged 16+) and
for each measure (trained, certified, …) are kept in ``report_spans``, with where they live
now; for every household, the span it had a registered member and the span it had a trained
one. A figure as of a moment is then a count of the spans covering it (the spans of one
subject and measure never overlap, so each subject counts once), and as of now it is the open
spans' count per village kept in ``report_counts``, corrected by the few spans that began or
ended after the moment (:mod:`webapp.reports.figures`).

**Kept current.** Database triggers (migration ``d3report0003``) put the person into
``report_dirty`` whenever a record the figures read changes — attendance, certificates,
evidence, a phone's link, the person — whoever writes it (a service, an import, SQL), in the
writer's own transaction; a change of a certificate rule or a new framework version puts
everyone with evidence there. :func:`refresh`, called before every reading of the figures,
takes the queue (``DELETE … RETURNING``, so an entry written meanwhile waits for the next
reading) and rebuilds those people's spans, their households' and their villages' counts, all
in set-based SQL, one statement per measure for a batch of people (no Python loop over
people). Readers therefore always see figures as fresh as the last committed record, and a
reading after 1,000 check-ins rebuilds 1,000 people. On PostgreSQL, readers of several
processes take turns (an advisory lock); SQLite has one writer at a time anyway.

**Reproducible.** The spans come from each record's own dates: a certificate counts from its
issue until its revocation; evidence from its recording until its withdrawal (a quiz passed on
a phone counts only while staff's confirmation of the phone's link stands); attendance from
when it was recorded; a digital signature or VNeID level 2 from the date on record; everything
from the person's registration. A later record only adds spans that start later or ends a span
later, so figures as of a past moment do not change.
"""

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    delete,
    event,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import GenericFunction

from webapp.certificates.models import Certificate
from webapp.checkin.models import ATTENDED, Attendance, Device, OccasionKind
from webapp.extensions import db
from webapp.learning import framework
from webapp.learning.models import ALL_COMPETENCIES, CertificateRule, Evidence, EvidenceKind
from webapp.people.models import Household, Person
from webapp.reports.models import Measure, Reach, ReachCount, ReachDirty, ReachSpan
from webapp.timeutil import LOCAL_TZ, UTCDateTime

#: Stands for "never ended" inside the interval arithmetic (stored as NULL).
FOREVER = datetime(9999, 12, 31, tzinfo=UTC)
VNEID_LEVEL2_MIN_AGE = 16
#: People rebuilt per round of statements.
BATCH = 1000
#: Queue entries one reading takes at most (a few seconds of work): after a migration or a
#: large import the rest waits for the next readings — the page says how many people are not
#: counted again yet — or for ``flask reports refresh`` / ``rebuild``.
REFRESH_LIMIT = 5000
#: The spans kept per person and per household.
PERSON_MEASURES = (
    Reach.REGISTERED,
    Reach.REGISTERED_16,
    Measure.TRAINED,
    Measure.CERTIFIED,
    Measure.VNEID_CONFIRMED,
    Measure.ALL_COMPETENCIES,
    Measure.DIGITAL_SIGNATURE,
    Measure.VNEID_LEVEL2,
)
HOUSEHOLD_MEASURES = (Reach.HOUSEHOLD, Measure.HOUSEHOLD_TRAINED)
#: Where a household measure's spans come from: its members' spans of that measure.
HOUSEHOLD_FROM = {Reach.HOUSEHOLD: Reach.REGISTERED, Measure.HOUSEHOLD_TRAINED: Measure.TRAINED}
_LOCK_KEY = 7_260_316  # pg_advisory_xact_lock's key for "rebuilding report spans"


# --- dates in SQL, the same on both databases ---------------------------------------------------


class greatest(GenericFunction):
    """The latest of its arguments (none may be NULL)."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(greatest, "sqlite")
def _greatest_sqlite(element, compiler, **kw):
    return f"max({compiler.process(element.clauses, **kw)})"


class local_midnight(GenericFunction):
    """The first moment of a Vietnam calendar day, given a DATE."""

    type = UTCDateTime()
    inherit_cache = True


class local_new_year(GenericFunction):
    """The first moment of a Vietnam calendar year, given the year."""

    type = UTCDateTime()
    inherit_cache = True


def _offset_hours() -> int:
    offset = datetime(2026, 1, 1, tzinfo=LOCAL_TZ).utcoffset()
    return int(offset.total_seconds() // 3600)


@compiles(local_midnight, "sqlite")
def _midnight_sqlite(element, compiler, **kw):
    day = compiler.process(element.clauses, **kw)
    return f"(strftime('%Y-%m-%d %H:%M:%S', {day}, '{-_offset_hours():+d} hours') || '.000000')"


@compiles(local_new_year, "sqlite")
def _new_year_sqlite(element, compiler, **kw):
    year = compiler.process(element.clauses, **kw)
    return (
        f"(strftime('%Y-%m-%d %H:%M:%S', printf('%04d-01-01', {year}),"
        f" '{-_offset_hours():+d} hours') || '.000000')"
    )


@compiles(local_midnight, "postgresql")
def _midnight_postgresql(element, compiler, **kw):
    day = compiler.process(element.clauses, **kw)
    return f"(CAST({day} AS timestamp) AT TIME ZONE '{LOCAL_TZ.key}')"


@compiles(local_new_year, "postgresql")
def _new_year_postgresql(element, compiler, **kw):
    year = compiler.process(element.clauses, **kw)
    return f"make_timestamptz({year}, 1, 1, 0, 0, 0, '{LOCAL_TZ.key}')"


def _forever():
    return literal(FOREVER, UTCDateTime)


def _never():
    """A span's end that has not come (NULL, typed for PostgreSQL)."""
    return cast(null(), UTCDateTime)


# --- intervals ----------------------------------------------------------------------------------


def islands(intervals, keys: list[str]):
    """Merge the intervals ``(*keys, since, until)`` of a subquery (``until`` NULL: never
    ended; empty intervals dropped) into non-overlapping ones per key, touching ones joined
    (gaps and islands, with window functions). Returns a select of ``(*keys, since, until)``
    with ``until`` as :data:`FOREVER` for "never ended"."""
    end = func.coalesce(intervals.c.until, _forever())
    partition = [intervals.c[k] for k in keys]
    ordered = (
        select(
            *partition,
            intervals.c.since,
            end.label("until"),
            func.max(end)
            .over(partition_by=partition, order_by=(intervals.c.since, end), rows=(None, -1))
            .label("reach"),
        )
        .where(intervals.c.since < end)
        .subquery()
    )
    starts = case((or_(ordered.c.reach.is_(None), ordered.c.since > ordered.c.reach), 1), else_=0)
    numbered = select(
        *[ordered.c[k] for k in keys],
        ordered.c.since,
        ordered.c.until,
        func.sum(starts)
        .over(
            partition_by=[ordered.c[k] for k in keys],
            order_by=(ordered.c.since, ordered.c.until),
            rows=(None, 0),
        )
        .label("island"),
    ).subquery()
    return select(
        *[numbered.c[k] for k in keys],
        func.min(numbered.c.since).label("since"),
        func.max(numbered.c.until).label("until"),
    ).group_by(*[numbered.c[k] for k in keys], numbered.c.island)


def all_covered(intervals, needed: int):
    """Per person, the times at which intervals of ``needed`` different codes all hold:
    ``intervals`` has ``(person_id, code, since, until)``; returns ``(person_id, since,
    until)`` pieces (to merge with :func:`islands`)."""
    merged = islands(intervals, ["person_id", "code"]).subquery()
    events = union_all(
        select(merged.c.person_id, merged.c.since.label("at"), literal(1).label("step")),
        select(merged.c.person_id, merged.c.until.label("at"), literal(-1).label("step")),
    ).subquery()
    steps = (
        select(events.c.person_id, events.c.at, func.sum(events.c.step).label("step"))
        .group_by(events.c.person_id, events.c.at)
        .subquery()
    )
    running = select(
        steps.c.person_id,
        steps.c.at.label("since"),
        func.sum(steps.c.step)
        .over(partition_by=steps.c.person_id, order_by=steps.c.at, rows=(None, 0))
        .label("held"),
        func.lead(steps.c.at)
        .over(partition_by=steps.c.person_id, order_by=steps.c.at)
        .label("until"),
    ).subquery()
    return select(running.c.person_id, running.c.since, running.c.until).where(
        running.c.held >= needed, running.c.until.is_not(None)
    )


# --- each measure's intervals for some people -------------------------------------------------

PersonFilter = Callable[[object], object]


def _evidence_counting():
    """Evidence counts while not withdrawn; a quiz passed on a phone only while the phone's
    link stands confirmed (as :meth:`Evidence.counting` says)."""
    confirmed = (
        select(Device.id)
        .where(
            Device.id == Evidence.device_id,
            Device.confirmed_at.is_not(None),
            Device.revoked_at.is_(None),
        )
        .exists()
    )
    return or_(Evidence.pending.is_(False), confirmed)


def _vneid(which: PersonFilter):
    return select(
        Evidence.person_id,
        Evidence.recorded_at.label("since"),
        Evidence.withdrawn_at.label("until"),
    ).where(
        which(Evidence.person_id),
        Evidence.kind == EvidenceKind.VNEID,
        Evidence.competency_code == ALL_COMPETENCIES,
        _evidence_counting(),
    )


def _required_codes() -> dict[str, list[str]]:
    """Each target group's required competencies in the framework version in force."""
    version = framework.current_version()
    if version is None:
        return {}
    rules = db.session.scalars(
        select(CertificateRule).where(CertificateRule.version_id == version.id)
    )
    return {rule.target_group: list(rule.required_codes) for rule in rules if rule.required_codes}


def _all_competencies(which: PersonFilter, required: dict[str, list[str]]):
    """Evidence for every code of the person's group's rule (or a VNeID confirmation)."""
    pieces = [_vneid(which)]
    for group, codes in required.items():
        shown = (
            select(
                Evidence.person_id,
                Evidence.competency_code.label("code"),
                Evidence.recorded_at.label("since"),
                Evidence.withdrawn_at.label("until"),
            )
            .join(Person, Person.id == Evidence.person_id)
            .where(
                which(Evidence.person_id),
                Person.target_group == group,
                Evidence.competency_code.in_(codes),
                _evidence_counting(),
            )
            .subquery()
        )
        pieces.append(all_covered(shown, len(set(codes))))
    together = union_all(*pieces).subquery()
    return islands(together, ["person_id"])


def _intervals(measure: str, which: PersonFilter, required: dict[str, list[str]]):
    """A select of ``(person_id, since, until)`` for the people ``which`` picks."""
    turning_16 = local_new_year(Person.birth_year + VNEID_LEVEL2_MIN_AGE)
    match measure:
        case Reach.REGISTERED:
            return select(Person.id, Person.created_at, _never()).where(which(Person.id))
        case Reach.REGISTERED_16:
            return select(Person.id, turning_16, _never()).where(which(Person.id))
        case Measure.TRAINED:
            return (
                select(Attendance.person_id, func.min(Attendance.recorded_at), _never())
                .where(
                    which(Attendance.person_id),
                    Attendance.occasion_kind == OccasionKind.SESSION,
                    Attendance.status.in_(ATTENDED),
                )
                .group_by(Attendance.person_id)
            )
        case Measure.CERTIFIED:
            certificates = (
                select(
                    Certificate.person_id,
                    Certificate.issued_at.label("since"),
                    Certificate.revoked_at.label("until"),
                )
                .where(which(Certificate.person_id))
                .subquery()
            )
            return islands(certificates, ["person_id"])
        case Measure.VNEID_CONFIRMED:
            return islands(_vneid(which).subquery(), ["person_id"])
        case Measure.ALL_COMPETENCIES:
            return _all_competencies(which, required)
        case Measure.DIGITAL_SIGNATURE:
            since = func.coalesce(local_midnight(Person.digital_signature_on), Person.created_at)
            return select(Person.id, since, _never()).where(
                which(Person.id), Person.digital_signature.is_(True)
            )
        case Measure.VNEID_LEVEL2:
            since = greatest(
                func.coalesce(local_midnight(Person.vneid_level2_on), Person.created_at),
                turning_16,
            )
            return select(Person.id, since, _never()).where(
                which(Person.id), Person.vneid_level2.is_(True)
            )
    raise ValueError(measure)


_SPAN_COLUMNS = [
    "subject_id",
    "measure",
    "target_group",
    "commune_id",
    "village_id",
    "household_id",
    "since",
    "until",
]


def _insert_person_spans(measure: str, which: PersonFilter, required) -> None:
    """The measure's spans of the people ``which`` picks, from their registration on, where
    they live now."""
    found = _intervals(measure, which, required).subquery()
    person_id, began, ended = found.c
    since = greatest(began, Person.created_at)
    until = func.nullif(func.coalesce(ended, _forever()), _forever())
    rows = select(
        Person.id,
        literal(str(measure), String),
        Person.target_group,
        Person.commune_id,
        Person.village_id,
        Person.household_id,
        since,
        until,
    ).where(
        Person.id == person_id,
        # Said of persons too, so the database reads only these people's rows, not a scan
        # of everyone joined to the batch's records.
        which(Person.id),
        or_(ended.is_(None), ended > since),
    )
    db.session.execute(insert(ReachSpan).from_select(_SPAN_COLUMNS, rows))


def _insert_household_spans(households: list[int]) -> None:
    """A household counts from its first registered member's registration, and is reached
    from its first member's first attended session (members where they are now)."""
    for measure, source in HOUSEHOLD_FROM.items():
        rows = (
            select(
                Household.id,
                literal(str(measure), String),
                literal("", String),
                Household.commune_id,
                Household.village_id,
                Household.id,
                func.min(ReachSpan.since),
                _never(),
            )
            .join(ReachSpan, ReachSpan.household_id == Household.id)
            .where(Household.id.in_(households), ReachSpan.measure == str(source))
            .group_by(Household.id, Household.commune_id, Household.village_id)
        )
        db.session.execute(insert(ReachSpan).from_select(_SPAN_COLUMNS, rows))


# --- rebuilding ----------------------------------------------------------------------------------


def _recount(villages: set[int]) -> None:
    """The open spans' counts of these villages, counted again from the spans."""
    for chunk in _chunks(sorted(villages)):
        db.session.execute(delete(ReachCount).where(ReachCount.village_id.in_(chunk)))
        rows = (
            select(
                ReachSpan.village_id,
                ReachSpan.target_group,
                ReachSpan.measure,
                ReachSpan.commune_id,
                func.count(),
            )
            .where(ReachSpan.village_id.in_(chunk), ReachSpan.until.is_(None))
            .group_by(
                ReachSpan.village_id,
                ReachSpan.target_group,
                ReachSpan.measure,
                ReachSpan.commune_id,
            )
        )
        db.session.execute(
            insert(ReachCount).from_select(
                ["village_id", "target_group", "measure", "commune_id", "count"], rows
            )
        )


def _chunks(items: list[int], size: int = BATCH) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rebuild(person_ids: Iterable[int]) -> None:
    """Rebuild the spans of these people, of their households (before and after a move) and
    the counts of the villages concerned, in the session's transaction."""
    required = _required_codes()
    villages: set[int] = set()
    for chunk in _chunks(sorted(set(person_ids))):
        households = set(
            db.session.scalars(
                select(ReachSpan.household_id).where(
                    ReachSpan.subject_id.in_(chunk),
                    ReachSpan.measure == str(Reach.REGISTERED),
                    ReachSpan.household_id.is_not(None),
                )
            )
        ) | set(
            db.session.scalars(
                select(Person.household_id).where(
                    Person.id.in_(chunk), Person.household_id.is_not(None)
                )
            )
        )
        villages |= set(
            db.session.scalars(
                select(ReachSpan.village_id)
                .where(
                    or_(
                        and_(
                            ReachSpan.subject_id.in_(chunk),
                            ReachSpan.measure.in_([str(m) for m in PERSON_MEASURES]),
                        ),
                        and_(
                            ReachSpan.subject_id.in_(households),
                            ReachSpan.measure.in_([str(m) for m in HOUSEHOLD_MEASURES]),
                        ),
                    )
                )
                .distinct()
            )
        )
        db.session.execute(
            delete(ReachSpan).where(
                ReachSpan.subject_id.in_(chunk),
                ReachSpan.measure.in_([str(m) for m in PERSON_MEASURES]),
            )
        )
        which = _picker(chunk)
        for measure in PERSON_MEASURES:
            _insert_person_spans(measure, which, required)
        if households:
            db.session.execute(
                delete(ReachSpan).where(
                    ReachSpan.subject_id.in_(households),
                    ReachSpan.measure.in_([str(m) for m in HOUSEHOLD_MEASURES]),
                )
            )
            _insert_household_spans(sorted(households))
        villages |= set(
            db.session.scalars(select(Person.village_id).where(Person.id.in_(chunk)).distinct())
        )
    _recount(villages)


def _picker(chunk: list[int]) -> PersonFilter:
    return lambda column: column.in_(chunk)


def refresh() -> int:
    """Bring the spans up to date with every committed change (the queue the triggers fill),
    then commit when the session had nothing else under way. Returns how many people were
    rebuilt. Called by :mod:`webapp.reports.figures` before any reading."""
    if db.session.scalar(select(ReachDirty.id).limit(1)) is None:
        return 0  # nothing queued: no write, no lock, the session's objects stay loaded
    busy = _writing()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))
        # A batch's statements are small but look costly to the planner (window functions
        # over estimates): its JIT compilation took ~200 ms per statement at province scale.
        db.session.execute(text("SET LOCAL jit = off"))
    first = select(ReachDirty.id).order_by(ReachDirty.id).limit(REFRESH_LIMIT)
    taken = db.session.execute(
        delete(ReachDirty).where(ReachDirty.id.in_(first)).returning(ReachDirty.person_id)
    ).scalars()
    people = set(taken)
    if people:
        rebuild(people)
    if not busy:
        db.session.commit()
    return len(people)


def refresh_all() -> int:
    """:func:`refresh` until nothing is queued (a submitted report freezes complete figures;
    the command line); how many people were rebuilt."""
    total = 0
    while done := refresh():
        total += done
    return total


def pending() -> int:
    """People still queued (0 unless a reading hit :data:`REFRESH_LIMIT`)."""
    return db.session.scalar(select(func.count(func.distinct(ReachDirty.person_id)))) or 0


def _writing() -> bool:
    """Whether the session holds changes of its own (then the caller's commit keeps the
    rebuilt spans with them)."""
    session = db.session()
    return bool(session.new or session.dirty or session.deleted) or session.info.get("wrote", False)


def rebuild_everyone() -> int:
    """Rebuild every person's spans (a repair; also what the first reading does after the
    migration): batches of people by id, set-based SQL per batch."""
    db.session.execute(delete(ReachDirty))
    db.session.execute(delete(ReachSpan))
    db.session.execute(delete(ReachCount))
    ids = list(db.session.scalars(select(Person.id).order_by(Person.id)))
    required = _required_codes()
    step = 20 * BATCH
    for start in range(0, len(ids), step):
        low, high = ids[start], ids[min(start + step, len(ids)) - 1]
        which = lambda column, low=low, high=high: column.between(low, high)  # noqa: E731
        for measure in PERSON_MEASURES:
            _insert_person_spans(measure, which, required)
    households = list(db.session.scalars(select(Household.id).order_by(Household.id)))
    for start in range(0, len(households), step):
        _insert_household_spans(households[start : start + step])
    _recount(set(db.session.scalars(select(Person.village_id).distinct())))
    return len(ids)


@event.listens_for(Session, "do_orm_execute")
def _note_writes(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info["wrote"] = True


@event.listens_for(Session, "after_flush")
def _note_flush(session, _context) -> None:
    session.info["wrote"] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_writes(session) -> None:
    session.info.pop("wrote", None)
