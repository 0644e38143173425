"""The spans the figures count (webapp.reports.reach), tried against the rules written out
plainly: random records — certificates issued, revoked and issued again, evidence recorded and
withdrawn, quizzes on phones confirmed or not, attendance of every status, flags with and
without dates, people and households moving — and every indicator compared, by village and by
household, at moments on and around each record's own dates, with a person-by-person count in
Python. Then: the triggers queue whatever writes the records (SQL too), and a rebuild of
everyone gives the spans the queue gave."""

import random
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, text, update

from tests.factories import NOW, make_household, make_person
from tests.reports.test_figures import DAY, attended, certificate, indicator
from webapp.checkin.models import ATTENDED, Attendance, Device
from webapp.extensions import db
from webapp.learning.models import Evidence
from webapp.people.models import Person
from webapp.reports import figures, reach
from webapp.reports.figures import Scope
from webapp.reports.models import ReachDirty, ReachSpan
from webapp.timeutil import LOCAL_TZ

GROUPS = ["citizen", "student", "enterprise_worker", "public_sector"]
CODES_2025 = [
    "public_sector_trained",
    "students_skills",
    "adults_basic",
    "adults_vneid_confirmed",
    "workers_basic",
    "adults_signature",
    "vneid_level2",
    "digital_family",
]


# --- the rules, person by person ------------------------------------------------------------


def _holds(since, until, at) -> bool:
    return since <= at and (until is None or until > at)


def _counting(evidence: Evidence, at) -> bool:
    if not _holds(evidence.recorded_at, evidence.withdrawn_at, at):
        return False
    if not evidence.pending:
        return True
    device = db.session.get(Device, evidence.device_id) if evidence.device_id else None
    return device is not None and device.confirmed_at is not None and device.revoked_at is None


def person_counts(person: Person, measure: str, at, required) -> bool:
    if person.created_at > at:
        return False
    day = at.astimezone(LOCAL_TZ).date()
    evidence = db.session.scalars(select(Evidence).where(Evidence.person_id == person.id)).all()
    vneid = any(
        e.kind == "vneid" and e.competency_code == "*" and _counting(e, at) for e in evidence
    )
    match measure:
        case "certified":
            return any(_holds(c.issued_at, c.revoked_at, at) for c in person_certificates(person))
        case "vneid_confirmed":
            return vneid
        case "all_competencies":
            codes = required.get(person.target_group)
            shown = {e.competency_code for e in evidence if _counting(e, at)}
            return vneid or (bool(codes) and set(codes) <= shown)
        case "trained":
            return any(
                a.occasion_kind == "session" and a.status in ATTENDED and a.recorded_at <= at
                for a in db.session.scalars(
                    select(Attendance).where(Attendance.person_id == person.id)
                )
            )
        case "digital_signature":
            return person.digital_signature and (
                person.digital_signature_on is None or person.digital_signature_on <= day
            )
        case "vneid_level2":
            return (
                person.vneid_level2
                and (person.vneid_level2_on is None or person.vneid_level2_on <= day)
                and person.birth_year <= at.astimezone(LOCAL_TZ).year - 16
            )
    raise ValueError(measure)


def person_certificates(person):
    from webapp.certificates.models import Certificate

    return db.session.scalars(select(Certificate).where(Certificate.person_id == person.id))


def expected(ind, level_of, at, required) -> dict[int, tuple[int, int]]:
    """unit -> (counted, out of), person by person."""
    everyone = db.session.scalars(select(Person)).all()
    found: dict[int, list[int]] = {}
    if ind.measure == "household_trained":
        households: dict[int, list[Person]] = {}
        for person in everyone:
            if person.household_id and person.created_at <= at:
                households.setdefault(person.household_id, []).append(person)
        for members in households.values():
            unit = level_of(members[0])
            if unit is None:
                continue
            pair = found.setdefault(unit, [0, 0])
            pair[1] += 1
            pair[0] += any(person_counts(m, "trained", at, required) for m in members)
        return {k: tuple(v) for k, v in found.items()}
    for person in everyone:
        if person.created_at > at or (ind.target_group and person.target_group != ind.target_group):
            continue
        if ind.measure == "vneid_level2" and person.birth_year > at.astimezone(LOCAL_TZ).year - 16:
            continue
        unit = level_of(person)
        if unit is None:
            continue
        pair = found.setdefault(unit, [0, 0])
        pair[1] += 1
        pair[0] += person_counts(person, ind.measure, at, required)
    return {k: tuple(v) for k, v in found.items()}


# --- random records ---------------------------------------------------------------------------


def moment(rng, base=NOW - 40 * DAY, days=40):
    return base + timedelta(minutes=rng.randrange(days * 24 * 60))


def random_world(fw, rng):
    from webapp.learning.models import CertificateRule

    # Rules of two or three codes, so that people do show every code (and lose one).
    for i, rule in enumerate(db.session.scalars(select(CertificateRule))):
        rule.required_codes = list(rule.required_codes)[i % 2 : i % 2 + 2 + i % 2]
    db.session.flush()
    required = reach._required_codes()
    codes = sorted({c for group in required.values() for c in group})
    households = [make_household(v, f"H-{i}-{v.id}") for v in (fw.v1, fw.v2) for i in range(4)]
    device = Device(
        key="k" * 32,
        person_id=None,
        created_at=NOW - 50 * DAY,
        last_used_at=NOW - 50 * DAY,
    )
    people = []
    for i in range(24):
        household = rng.choice([*households, None])
        village = (
            db.session.get(type(fw.v1), household.village_id)
            if household
            else rng.choice([fw.v1, fw.v2])
        )
        person = make_person(
            village,
            f"Người {i}",
            rng.choice([1950, 1990, 2009, 2010, 2011, 2018]),
            household=household,
            target_group=rng.choice(GROUPS),
        )
        person.created_at = moment(rng, NOW - 45 * DAY, 20)
        person.digital_signature = rng.random() < 0.4
        person.digital_signature_on = rng.choice(
            [None, (NOW - 10 * DAY).date(), (NOW + DAY).date()]
        )
        person.vneid_level2 = rng.random() < 0.5
        person.vneid_level2_on = rng.choice([None, (NOW - 20 * DAY).date()])
        people.append(person)
    db.session.flush()
    device.person_id = people[0].id
    db.session.add(device)
    db.session.flush()
    for person in people:
        for _ in range(rng.randrange(3)):
            issued = moment(rng)
            revoked = rng.choice([None, issued + timedelta(days=rng.randrange(0, 10))])
            certificate(person, issued, revoked_at=revoked, world=fw)
        for _ in range(rng.randrange(10)):
            recorded = moment(rng)
            vneid = rng.random() < 0.15
            db.session.add(
                Evidence(
                    person_id=person.id,
                    competency_code="*" if vneid else rng.choice(codes),
                    kind="vneid" if vneid else "checklist",
                    recorded_at=recorded,
                    withdrawn_at=rng.choice(
                        [None, None, recorded + timedelta(days=rng.randrange(0, 8))]
                    ),
                    pending=person is people[0] and rng.random() < 0.5,
                    device_id=device.id if person is people[0] else None,
                    detail={},
                )
            )
        for _ in range(rng.randrange(3)):
            attended(
                person, moment(rng), status=rng.choice(["present", "late", "absent", "excused"])
            )
    db.session.flush()
    # Some move: to the other village (with a household there, or none).
    for person in rng.sample(people, 4):
        target = rng.choice([h for h in households if h.village_id != person.village_id] + [None])
        other = fw.v2 if person.village_id == fw.v1.id else fw.v1
        person.household = target
        person.village_id = target.village_id if target else other.id
    db.session.flush()
    return people, required


@pytest.mark.parametrize("seed", range(4))
def test_every_indicator_matches_the_rules_person_by_person(fw, seed):
    rng = random.Random(seed)
    _people, required = random_world(fw, rng)
    moments = [NOW, NOW - 40 * DAY, NOW + 2 * DAY]
    moments += [moment(rng) for _ in range(6)]
    # Exactly on records' own dates, where a boundary mistake would show.
    moments += [c.issued_at for c in db.session.scalars(select_certificates()).all()[:3]]
    moments += [
        e.withdrawn_at
        for e in db.session.scalars(select(Evidence).where(Evidence.withdrawn_at.is_not(None)))
    ][:3]
    by_village = fw.scope
    for at in moments:
        table = figures.table(by_village, year=2025, as_of=at)
        rows = {r.indicator.code: r for r in table.rows}
        for code in CODES_2025:
            row = rows[code]
            want = expected(row.indicator, lambda p: p.village_id, at, required)
            got = {k: (f.numerator, f.denominator) for k, f in row.units.items()}
            assert got == want, (code, at)
        for village in (fw.v1, fw.v2):
            scope = Scope("household", (fw.commune_id,), village.id)
            table = figures.table(scope, year=2025, as_of=at)
            for r in table.rows:
                if r.indicator.code not in CODES_2025:
                    continue
                want = expected(
                    r.indicator,
                    lambda p, v=village: p.household_id if p.village_id == v.id else None,
                    at,
                    required,
                )
                got = {k: (f.numerator, f.denominator) for k, f in r.units.items()}
                assert got == want, (r.indicator.code, village.name, at)


def select_certificates():
    from webapp.certificates.models import Certificate

    return select(Certificate).order_by(Certificate.id)


def spans_now() -> set[tuple]:
    return {
        tuple(row)
        for row in db.session.execute(
            select(
                ReachSpan.subject_id,
                ReachSpan.measure,
                ReachSpan.target_group,
                ReachSpan.village_id,
                ReachSpan.household_id,
                ReachSpan.since,
                ReachSpan.until,
            )
        )
    }


def test_a_rebuild_of_everyone_gives_the_spans_the_queue_gave(fw):
    random_world(fw, random.Random(7))
    reach.refresh()
    kept = spans_now()
    assert kept
    reach.rebuild_everyone()
    assert spans_now() == kept


def test_writes_in_sql_outside_the_services_are_queued_and_counted(fw):
    """The triggers: a check-in, a move and a revocation written in plain SQL reach the
    figures (nothing in Python has to remember to say so)."""
    (a, b) = (make_person(fw.v1, "An"), make_person(fw.v1, "Bình"))
    for person in (a, b):
        person.created_at = NOW - 10 * DAY
    certificate(a, NOW - 5 * DAY, world=fw)
    db.session.flush()
    basic = indicator("adults_basic")
    assert figures.row(basic, fw.scope, NOW).units[fw.v1.id].numerator == 1
    assert db.session.scalar(select(ReachDirty.id).limit(1)) is None  # the reading took the queue
    db.session.execute(
        insert(Attendance.__table__).values(
            occasion_kind="session",
            occasion_id=99,
            person_id=b.id,
            status="present",
            method="roster",
            recorded_at=NOW - DAY,
            updated_at=NOW - DAY,
        )
    )
    db.session.execute(
        update(Person).where(Person.id == a.id).values(village_id=fw.v2.id),
    )
    assert db.session.scalar(select(ReachDirty.id).limit(1)) is not None
    basic_row = figures.row(basic, fw.scope, NOW)
    assert (basic_row.units[fw.v1.id].numerator, basic_row.units[fw.v1.id].denominator) == (0, 1)
    assert (basic_row.units[fw.v2.id].numerator, basic_row.units[fw.v2.id].denominator) == (1, 1)
    trained = select(ReachSpan.since).where(
        ReachSpan.subject_id == b.id, ReachSpan.measure == "trained"
    )
    assert db.session.scalar(trained) == NOW - DAY
    assert reach.refresh() == 0
    from webapp.certificates.models import Certificate

    db.session.execute(
        update(Certificate).where(Certificate.person_id == a.id).values(revoked_at=NOW - DAY)
    )
    assert figures.row(basic, fw.scope, NOW).units[fw.v2.id].numerator == 0
    assert figures.row(basic, fw.scope, NOW - 2 * DAY).units[fw.v2.id].numerator == 1


def test_a_new_rule_rebuilds_the_people_with_evidence(fw):
    from webapp.learning.models import CertificateRule

    worker = make_person(fw.v1, "Công Nhân", target_group="enterprise_worker")
    worker.created_at = NOW - 10 * DAY
    required = reach._required_codes()["enterprise_worker"]
    for code in required[:-1]:
        db.session.add(
            Evidence(
                person_id=worker.id,
                competency_code=code,
                kind="checklist",
                recorded_at=NOW - DAY,
                detail={},
            )
        )
    db.session.flush()
    workers = indicator("workers_basic")
    assert figures.row(workers, fw.scope, NOW).total.numerator == 0
    rule = db.session.scalar(
        select(CertificateRule).where(CertificateRule.target_group == "enterprise_worker")
    )
    rule.required_codes = required[:-1]
    db.session.flush()
    assert figures.row(workers, fw.scope, NOW).total.numerator == 1


def test_the_commands_refresh_and_rebuild(app, fw):
    (a,) = (make_person(fw.v1, "An"),)
    certificate(a, NOW - DAY, world=fw)
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reports", "refresh"])
    assert result.exit_code == 0 and "Rebuilt" in result.output
    assert runner.invoke(args=["reports", "refresh"]).output.startswith("Rebuilt 0 ")
    result = runner.invoke(args=["reports", "rebuild"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        spans = db.session.scalars(
            select(ReachSpan.measure).where(ReachSpan.subject_id == a.id)
        ).all()
    assert {"registered", "registered16", "certified"} <= set(spans)


def test_the_triggers_are_all_in_place_after_the_migrations(app):
    """A later migration that rebuilds a table (SQLite's batch mode copies it) would drop its
    triggers silently: every watched table still has its own."""
    watched = ["persons", "attendance", "certificates", "evidence", "checkin_devices"]
    watched += ["certificate_rules", "framework_versions"]
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            rows = db.session.execute(
                text(
                    "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                    " WHERE t.tgname LIKE 'report_dirty_%'"
                )
            ).scalars()
        else:
            rows = db.session.execute(
                text(
                    "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger'"
                    " AND name LIKE 'report_dirty_%'"
                )
            ).scalars()
        assert set(watched) <= set(rows)


def test_a_reading_takes_a_bounded_part_of_a_long_queue_and_says_so(app, fw, monkeypatch):
    """After a migration or a large import, one reading rebuilds at most REFRESH_LIMIT
    people; the dashboard says how many wait; later readings (or the command) finish."""
    people = [make_person(fw.v1, f"Người {i}") for i in range(7)]
    for person in people:
        person.created_at = NOW - 10 * DAY
    db.session.commit()
    monkeypatch.setattr(reach, "REFRESH_LIMIT", 3)
    table = figures.table(fw.scope, year=2025, as_of=NOW)
    basic = next(r for r in table.rows if r.indicator.code == "adults_basic")
    assert basic.total.denominator <= 3  # three queue entries: at most three people so far
    assert table.pending >= 4 and table.pending == reach.pending()
    assert reach.refresh_all() >= 4 and reach.pending() == 0
    table = figures.table(fw.scope, year=2025, as_of=NOW)
    assert table.pending == 0
    assert next(r for r in table.rows if r.indicator.code == "adults_basic").total.denominator == 7
