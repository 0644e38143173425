"""flask seed-demo: the demo commune, its people, accounts and schedule; idempotent."""

from sqlalchemy import func, select

from tests.factories import make_commune
from webapp.accounts.models import User
from webapp.accounts.services import authenticate
from webapp.checkin.models import Attendance
from webapp.extensions import db
from webapp.mentoring.demo import DEMO_MENTORS
from webapp.people.demo import DEMO_PASSWORD, DEMO_USERS
from webapp.people.models import Household, Person, Segment, TargetGroup, Village
from webapp.scheduling.models import ClassSession, CourseClass, Enrolment
from webapp.timeutil import utcnow


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_seed_demo_builds_the_commune_once(app, runner):
    first = runner.invoke(args=["seed-demo", "--if-empty"])
    assert first.exit_code == 0, first.output
    assert "canbo.vhxh" in first.output and DEMO_PASSWORD in first.output
    with app.app_context():
        assert count(Village) == 8
        assert count(Household) == 600
        assert count(Person) == 2000 + len(DEMO_MENTORS)  # the mentors are registered too
        assert count(User) == len(DEMO_USERS) == 12
        people = list(db.session.scalars(select(Person)))
        year = utcnow().year
        assert {p.target_group for p in people} == set(TargetGroup)
        segments = {s for p in people for s in p.segments(year)}
        assert segments == set(Segment)
        names = {p.full_name for p in people}
        assert {"Nguyễn Thị Hồng Nhung", "Đặng Văn Ướt"} <= names
        assert any(n.startswith(("A ", "Y ")) for n in names), "Xơ Đăng names too"
        assert count(CourseClass) == 4 and count(ClassSession) > 10 and count(Enrolment) > 20
        finished = db.session.scalar(select(CourseClass).where(CourseClass.status == "finished"))
        assert all(s.ends_at < utcnow() for s in finished.sessions)
        assert count(Attendance) > 40
        for spec in DEMO_USERS:
            user = authenticate(spec.username, DEMO_PASSWORD, address="t", now=utcnow())
            assert user.role == spec.role

    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "already there" in again.output
    again = runner.invoke(args=["seed-demo", "--if-empty"])  # `make run` another time
    assert again.exit_code == 0 and "already there" in again.output
    with app.app_context():
        assert count(Person) == 2000 + len(DEMO_MENTORS)
        assert count(User) == 12 and count(CourseClass) == 4


def test_seed_demo_if_empty_leaves_a_real_commune_alone(app, runner):
    with app.app_context():
        make_commune(code="THAT", name="Xã Thật", villages=("Thôn Một",))
        db.session.commit()
    skipped = runner.invoke(args=["seed-demo", "--if-empty"])
    assert skipped.exit_code == 0 and "not loaded" in skipped.output
    with app.app_context():
        assert count(Person) == 0 and count(User) == 0 and count(ClassSession) == 0
