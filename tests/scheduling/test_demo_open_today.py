"""`make run` on any day: each demo trainer has a session open for check-in right then, so a
new user can try check-in at once (flask seed-demo --if-empty, also on a database that already
holds the demo)."""

from datetime import UTC, datetime

from sqlalchemy import select

from webapp.accounts.models import User
from webapp.checkin.occasions import SessionOccasion
from webapp.extensions import db
from webapp.scheduling.demo import DEMO_TRAINERS, TRY_TOPIC
from webapp.scheduling.models import ClassSession
from webapp.timeutil import to_local


def _open_sessions(now: datetime) -> dict[str, list[int]]:
    """Per demo trainer, their sessions whose check-in window is open at ``now``."""
    found = {}
    for username in DEMO_TRAINERS:
        trainer = db.session.scalar(select(User).where(User.username == username))
        sessions = db.session.scalars(select(ClassSession)).all()
        found[username] = [
            s.id
            for s in sessions
            if trainer in s.course_class.trainers and SessionOccasion(s).is_open(now)
        ]
    return found


def test_every_demo_trainer_has_a_session_open_when_the_demo_starts(app, runner, clock):
    wednesday = datetime(2026, 12, 2, 7, 2, tzinfo=UTC)  # 14:02 in Vietnam
    clock.set(wednesday)
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert all(len(ids) == 1 for ids in _open_sessions(wednesday).values())

    thursday = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # 09:00, a day later: started again
    clock.set(thursday)
    for _ in range(2):  # and once more: nothing doubled
        result = runner.invoke(args=["seed-demo", "--if-empty"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            open_now = _open_sessions(thursday)
            assert all(len(ids) == 1 for ids in open_now.values()), open_now
    assert "open for check-in now" in result.output or "already there" in result.output


def test_late_at_night_the_demo_adds_no_session_across_midnight(app, runner, clock):
    late = datetime(2026, 12, 2, 16, 40, tzinfo=UTC)  # 23:40 in Vietnam
    clock.set(late)
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "open for check-in now" not in result.output
    with app.app_context():
        for s in db.session.scalars(select(ClassSession)):
            assert to_local(s.starts_at).date() == to_local(s.ends_at).date()
            assert s.topic != TRY_TOPIC
