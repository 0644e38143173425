"""flask seed-demo's mentoring network: five mentors with 3 to 7 mentees (both flags show), a
few weeks of meetings, one overdue mentee, one visit with nobody home, one confirmed meeting."""

from sqlalchemy import func, select

from webapp.accounts.models import User
from webapp.extensions import db
from webapp.learning.models import Evidence
from webapp.mentoring import queries, services
from webapp.mentoring.models import Meeting, MeetingConfirmation, Mentor, Mentorship
from webapp.timeutil import utcnow


def test_the_demo_network_shows_both_flags(app, runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "5 mentors" in result.output
    with app.app_context():
        mentors = list(db.session.scalars(select(Mentor)))
        counts = queries.active_mentee_counts([m.id for m in mentors])
        assert sorted(counts.values()) == [3, 4, 5, 6, 7]
        assert sum(services.under_minimum(m, counts[m.id]) for m in mentors) == 2
        assert all(m.user_id is not None for m in mentors), "each demo mentor logs in"
        assert any(m.counter_helper for m in mentors)
        now = utcnow()
        late = services.overdue(db.session.scalars(select(Mentorship)), now=now)
        assert len(late) == 1
        assert db.session.scalar(select(func.count(Meeting.id))) > 20
        assert db.session.scalar(select(func.count(Meeting.id)).where(Meeting.held.is_(False)))
        assert db.session.scalar(select(func.count(MeetingConfirmation.id))) == 1
        assert db.session.scalar(select(func.count(Evidence.id)).where(Evidence.kind == "mentor"))
        an = db.session.scalar(select(User).where(User.username == "dss.an"))
        assert len(queries.my_mentees(an)) == 7
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(func.count(Mentor.id))) == 5  # idempotent
