"""The eligibility page's "still needed" column lists what a learner still lacks, without
repeating the column's label before each entry, with hours written the Vietnamese way."""

from tests.factories import NOW
from tests.learning import learning_world
from tests.learning.learning_world import attend
from tests.learning.page_numbers import decimal_point_zero
from webapp.extensions import db
from webapp.learning import eligibility
from webapp.people.models import Person


def test_the_still_needed_column_has_no_repeated_prefix(app, world, client, actions):
    with app.app_context():
        lw = learning_world.build(world)
        attend(lw.learners["An"], lw.session_ids[:2])
    actions.login("trainer")
    page = client.get(f"/classes/{lw.class_id}/eligibility")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    with app.test_request_context():
        person = db.session.get(Person, lw.learners["An"])
        result = eligibility.check(person, learning_world.course_class(lw), now=NOW)
        assert result.summary and result.reasons
        assert "; ".join(result.reasons) in text
        assert result.summary not in text  # the column label already says "still needed"
    assert not decimal_point_zero(text)
