"""Numbers and dates on the learning pages read the Vietnamese way: hours "8" and "1,5"
(never "8.0") on the framework, rules and eligibility pages; evidence dates as dd/mm/yyyy
and quiz scores as percentages."""

from sqlalchemy import select

from tests.factories import NOW
from tests.learning import learning_world
from tests.learning.page_numbers import decimal_point_zero
from webapp.extensions import db
from webapp.learning import services
from webapp.people.models import Person
from webapp.scheduling.models import Course


def test_hours_are_written_the_vietnamese_way(app, world, client, actions):
    with app.app_context():
        lw = learning_world.build(world)
        course = db.session.scalar(select(Course))
        assert course is not None
    actions.login("organiser")
    for path in ("/framework", f"/classes/{lw.class_id}/eligibility", "/framework/rules"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert not decimal_point_zero(page.get_data(as_text=True)), path


def test_evidence_dates_and_scores_read_the_local_way(app, world, client, actions):
    with app.app_context():
        lw = learning_world.build(world)
        person = db.session.get(Person, lw.learners["An"])
        services.record_evidence(
            actor=None,
            now=NOW,
            person=person,
            competency_code="0.1",
            kind="mooc",
            detail={"platform": "binhdanhocvuso.gov.vn", "number": "N-7", "date": "2025-11-20"},
        )
        services.record_evidence(
            actor=None,
            now=NOW,
            person=person,
            competency_code="2.3",
            kind="quiz",
            detail={"score": 1.0},
        )
        db.session.commit()
    actions.login("trainer")
    text = client.get(f"/people/{lw.learners['An']}/evidence").get_data(as_text=True)
    assert "20/11/2025" in text and "2025-11-20" not in text
    assert "100%" in text and not decimal_point_zero(text)
