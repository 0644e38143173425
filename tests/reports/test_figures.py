"""Every indicator's numerator, denominator and percentage on small known datasets, by
village, by household and in total, as of now and as of a past moment."""

from datetime import timedelta
from itertools import count

import pytest
from sqlalchemy import select

from tests.factories import NOW, build_world, make_household, make_person
from webapp.accounts.models import User
from webapp.certificates.models import Certificate
from webapp.checkin.models import Attendance
from webapp.extensions import db
from webapp.learning.framework import seed_framework
from webapp.learning.models import Evidence
from webapp.mentoring import services as mentoring
from webapp.mentoring.models import Organisation
from webapp.people.models import Village
from webapp.reports import figures, reach, services
from webapp.reports.figures import Scope
from webapp.reports.models import Denominator, Indicator, Measure

SERIALS = count(1)
DAY = timedelta(days=1)


def certificate(person, issued_at, *, revoked_at=None, world=None):
    n = next(SERIALS)
    db.session.add(
        Certificate(
            serial=f"NGOKBAY-2025-{n:06d}",
            verify_code=f"verify-{n}",
            commune_id=person.commune_id,
            person_id=person.id,
            class_id=world.class_id,
            snapshot={},
            issued_by_id=world.organiser.id,
            issued_at=issued_at,
            revoked_at=revoked_at,
        )
    )


def attended(person, at, status="present"):
    db.session.add(
        Attendance(
            occasion_kind="session",
            occasion_id=next(SERIALS),
            person_id=person.id,
            status=status,
            method="roster",
            recorded_at=at,
            updated_at=at,
        )
    )


class World:
    pass


@pytest.fixture
def fw(app):
    """Thôn 1 and Thôn 2 of Ngọk Bay, the framework, the plan's indicators, a class."""
    from tests.factories import make_class, make_course

    with app.app_context():
        base = build_world()
        seed_framework(NOW)
        services.seed_indicators(now=NOW)
        w = World()
        w.v1, w.v2 = (db.session.get(Village, i) for i in base.village_ids)
        w.organiser = db.session.get(User, base.users["organiser"])
        w.commune_id = base.commune_id
        course = make_course(base.commune_id, w.organiser.id)
        w.class_id = make_class(course, [db.session.get(User, base.users["trainer"])]).id
        w.scope = Scope("village", (base.commune_id,))
        yield w
        db.session.rollback()


def indicator(code: str, year: int = 2025) -> Indicator:
    return db.session.scalar(
        select(Indicator).where(
            Indicator.code == code, Indicator.year == year, Indicator.replaced_at.is_(None)
        )
    )


def people(village, *names, group="citizen", created=NOW - 30 * DAY, **extra):
    """People of the group, registered a month ago (or ``created``)."""
    found = [make_person(village, name, 1970, target_group=group, **extra) for name in names]
    for person in found:
        person.created_at = created
    db.session.flush()
    return found


def test_certified_adults_once_each_not_revoked_by_village_and_total(fw):
    a, b, _ = people(fw.v1, "Nguyễn Văn A", "Trần Thị B", "Lê Văn C")
    (d,) = people(fw.v2, "Phạm Thị D")
    certificate(a, NOW - 5 * DAY, world=fw)
    certificate(a, NOW - 2 * DAY, world=fw)  # certified twice: counted once
    certificate(b, NOW - 5 * DAY, revoked_at=NOW - DAY, world=fw)  # revoked: not counted
    certificate(d, NOW - 3 * DAY, world=fw)
    db.session.flush()
    row = figures.row(indicator("adults_basic"), fw.scope, NOW)
    assert (row.units[fw.v1.id].numerator, row.units[fw.v1.id].denominator) == (1, 3)
    assert (row.units[fw.v2.id].numerator, row.units[fw.v2.id].denominator) == (1, 1)
    assert (row.total.numerator, row.total.denominator, row.total.pct) == (2, 4, 50.0)
    assert row.gap(row.total) == 30.0  # the 2025 target is 80 %
    assert row.short_of_target(row.total) == 2  # 80 % of 4 people is 4 (3.2 rounded up)
    # As of before the revocation, B counted.
    before = figures.row(indicator("adults_basic"), fw.scope, NOW - 2 * DAY)
    assert before.units[fw.v1.id].numerator == 2


def test_figures_as_of_a_past_moment_are_not_changed_by_later_records(fw):
    a, b = people(fw.v1, "Nguyễn Văn A", "Trần Thị B")
    certificate(a, NOW - 10 * DAY, world=fw)
    db.session.flush()
    then = NOW - DAY
    before = figures.row(indicator("adults_basic"), fw.scope, then)
    (late,) = people(fw.v1, "Người Đăng Ký Sau", created=NOW)  # registered afterwards
    certificate(b, NOW, world=fw)  # certified afterwards
    db.session.flush()
    after = figures.row(indicator("adults_basic"), fw.scope, then)
    assert (
        (after.total.numerator, after.total.denominator)
        == (
            before.total.numerator,
            before.total.denominator,
        )
        == (1, 2)
    )
    now = figures.row(indicator("adults_basic"), fw.scope, NOW)
    assert (now.total.numerator, now.total.denominator) == (2, 3)
    assert late.id


def test_a_person_who_moved_is_counted_where_they_live_now(fw):
    (a,) = people(fw.v1, "Nguyễn Văn Chuyển")
    certificate(a, NOW - 5 * DAY, world=fw)
    a.village_id = fw.v2.id
    db.session.flush()
    row = figures.row(indicator("adults_basic"), fw.scope, NOW)
    assert fw.v1.id not in row.units
    assert (row.units[fw.v2.id].numerator, row.units[fw.v2.id].denominator) == (1, 1)


def test_a_household_counts_once_however_many_members_trained(fw):
    h1, h2 = make_household(fw.v1, "T1-001"), make_household(fw.v1, "T1-002")
    one, two, three = people(fw.v1, "An", "Bình", "Cường", household=h1)
    people(fw.v1, "Dũng", household=h2)
    attended(one, NOW - 3 * DAY)
    attended(two, NOW - 2 * DAY, status="late")
    attended(three, NOW - 2 * DAY, status="absent")  # absent: not trained
    db.session.flush()
    family = indicator("digital_family")
    row = figures.row(family, fw.scope, NOW)
    assert (row.units[fw.v1.id].numerator, row.units[fw.v1.id].denominator) == (1, 2)
    by_household = figures.row(family, Scope("household", (fw.commune_id,), fw.v1.id), NOW)
    assert {k: (f.numerator, f.denominator) for k, f in by_household.units.items()} == {
        h1.id: (1, 1),
        h2.id: (0, 1),
    }


def test_people_by_household_in_a_village(fw):
    h1 = make_household(fw.v1, "T1-001")
    a, _ = people(fw.v1, "An", "Bình", household=h1)
    people(fw.v2, "Xa")
    certificate(a, NOW - DAY, world=fw)
    db.session.flush()
    row = figures.row(
        indicator("adults_basic"), Scope("household", (fw.commune_id,), fw.v1.id), NOW
    )
    assert {k: (f.numerator, f.denominator) for k, f in row.units.items()} == {h1.id: (1, 2)}
    assert (row.total.numerator, row.total.denominator) == (1, 2)


def test_entered_populations_are_the_denominator_when_chosen(fw):
    (a,) = people(fw.v1, "An")
    certificate(a, NOW - DAY, world=fw)
    old = indicator("adults_basic")
    new = services.update_indicator(
        actor=fw.organiser, now=NOW, indicator=old, target_pct=90, denominator=Denominator.ENTERED
    )
    services.set_population(
        actor=fw.organiser, now=NOW, village=fw.v1, year=2025, target_group="citizen", count=40
    )
    db.session.flush()
    row = figures.row(new, fw.scope, NOW)
    assert (row.units[fw.v1.id].numerator, row.units[fw.v1.id].denominator) == (1, 40)
    assert row.total.pct == 2.5 and row.gap(row.total) == 87.5
    assert fw.v2.id not in row.units  # nothing entered, nobody certified
    assert indicator("adults_basic").id == new.id and old.replaced_at == NOW


def test_vneid_digital_signature_and_level2(fw):
    a, b, c = people(fw.v1, "An", "Bình", "Cường")
    db.session.add(
        Evidence(
            person_id=a.id, competency_code="*", kind="vneid", recorded_at=NOW - DAY, detail={}
        )
    )
    db.session.add(
        Evidence(
            person_id=b.id,
            competency_code="*",
            kind="vneid",
            recorded_at=NOW - 2 * DAY,
            withdrawn_at=NOW - DAY,
            detail={},
        )
    )
    a.digital_signature, a.digital_signature_on = True, (NOW - 3 * DAY).date()
    c.digital_signature, c.digital_signature_on = True, (NOW + 3 * DAY).date()  # not yet
    b.vneid_level2 = True
    young = make_person(fw.v1, "Trẻ Em", 2020, target_group="student", vneid_level2=True)
    db.session.flush()
    vneid = figures.row(indicator("adults_vneid_confirmed"), fw.scope, NOW)
    assert (vneid.total.numerator, vneid.total.denominator) == (1, 3)
    signature = figures.row(indicator("adults_signature"), fw.scope, NOW)
    assert signature.total.numerator == 1
    level2 = figures.row(indicator("vneid_level2"), fw.scope, NOW)
    assert (level2.total.numerator, level2.total.denominator) == (1, 3)  # not the 5-year-old
    assert young.id


def test_all_competencies_of_the_groups_rule(fw):
    (a, b) = people(fw.v1, "An", "Bình", group="enterprise_worker")
    required = reach._required_codes()["enterprise_worker"]
    assert required
    for code in required:
        db.session.add(
            Evidence(
                person_id=a.id,
                competency_code=code,
                kind="checklist",
                recorded_at=NOW - DAY,
                detail={},
            )
        )
    for code in required[:-1]:
        db.session.add(
            Evidence(
                person_id=b.id,
                competency_code=code,
                kind="checklist",
                recorded_at=NOW - DAY,
                detail={},
            )
        )
    db.session.flush()
    row = figures.row(indicator("workers_basic"), fw.scope, NOW)
    assert (row.total.numerator, row.total.denominator) == (1, 2)


def test_mentors_meeting_the_minimum(fw):
    mentors = []
    for i, village in enumerate((fw.v1, fw.v2)):
        (person,) = people(village, f"Đại Sứ {i}")
        mentors.append(
            mentoring.make_mentor(
                actor=fw.organiser,
                now=NOW - 10 * DAY,
                person=person,
                organisation=Organisation.YOUTH_UNION,
                village_id=village.id,
            )
        )
    for i in range(5):
        (mentee,) = people(fw.v1, f"Người Học {i}")
        mentoring.assign(actor=fw.organiser, now=NOW - 5 * DAY, mentor=mentors[0], person=mentee)
    (mentee,) = people(fw.v2, "Người Học Xa")
    mentoring.assign(actor=fw.organiser, now=NOW - 5 * DAY, mentor=mentors[1], person=mentee)
    db.session.flush()
    row = figures.row(indicator("digital_ambassadors"), fw.scope, NOW)
    assert {k: (f.numerator, f.denominator) for k, f in row.units.items()} == {
        fw.v1.id: (1, 1),
        fw.v2.id: (0, 1),
    }
    before = figures.row(indicator("digital_ambassadors"), fw.scope, NOW - 7 * DAY)
    assert (before.total.numerator, before.total.denominator) == (0, 2)


def test_the_table_has_every_indicator_of_the_year_and_the_villages(fw):
    found = figures.table(fw.scope, year=2026, as_of=NOW)
    assert [r.indicator.code for r in found.rows] == [
        "public_sector_trained",
        "students_skills",
        "adults_basic",
        "adults_vneid_confirmed",
        "workers_basic",
        "digital_family",
        "digital_ambassadors",
    ]
    assert list(found.units) == [fw.v1.id, fw.v2.id]


def test_periods():
    assert services.period("2026-q2").ends_on.isoformat() == "2026-06-30"
    assert services.period("2026-12").ends_on.isoformat() == "2026-12-31"
    assert services.period("2025-02").ends_on.isoformat() == "2025-02-28"
    assert services.period("2026").starts_on.isoformat() == "2026-01-01"
    for bad in ("", "2026-Q5", "2026-13", "26", "2026-1"):
        with pytest.raises(services.ReportsError):
            services.period(bad)


def test_measures_are_all_known():
    assert {m.value for m in Measure} >= {i[2].value for i in services.PLAN_INDICATORS}


def test_a_snapshot_gives_the_same_table_back(fw):
    (a,) = people(fw.v1, "An")
    certificate(a, NOW - DAY, world=fw)
    db.session.flush()
    live = figures.table(fw.scope, year=2025, as_of=NOW)
    import json

    again = figures.from_snapshot(json.loads(json.dumps(figures.snapshot(live))))
    assert again.units == live.units and again.as_of == live.as_of
    for mine, theirs in zip(live.rows, again.rows, strict=True):
        assert mine.indicator.code == theirs.indicator.code
        assert mine.indicator.target_pct == theirs.indicator.target_pct
        assert {k: (f.numerator, f.denominator) for k, f in mine.units.items()} == {
            k: (f.numerator, f.denominator) for k, f in theirs.units.items()
        }
        assert (mine.total.numerator, mine.total.denominator) == (
            theirs.total.numerator,
            theirs.total.denominator,
        )
    assert again.rows[2].short_of_target(again.rows[2].total) == live.rows[2].short_of_target(
        live.rows[2].total
    )
