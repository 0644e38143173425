"""What a class's course asks for against the certificate rule: a course whose competency
codes are all outside the rule, or that has none, requires the whole rule; a course that
overlaps the rule requires only the overlap."""

from tests.factories import NOW
from tests.learning import learning_world
from tests.learning.learning_world import attend
from webapp.extensions import db
from webapp.learning import eligibility
from webapp.people.models import Person


def _check(app, world, codes) -> tuple[bool, list[str], list[str]]:
    """(eligible, missing codes, the rule's codes) for An, who attended all four sessions
    (8 hours) of a class of a course with these codes."""
    with app.app_context():
        lw = learning_world.build(world, codes=codes)
    with app.test_request_context():
        attend(lw.learners["An"], lw.session_ids)
        person = db.session.get(Person, lw.learners["An"])
        result = eligibility.check(person, learning_world.course_class(lw), now=NOW)
        return result.eligible, result.missing, list(result.rule.required_codes)


def test_a_course_outside_the_rule_requires_the_whole_rule(app, world):
    eligible, missing, required = _check(app, world, ("9.9",))
    assert not eligible
    assert missing == required and len(missing) == 10


def test_a_course_without_codes_requires_the_whole_rule(app, world):
    eligible, missing, required = _check(app, world, ())
    assert not eligible and missing == required


def test_a_partly_overlapping_course_requires_only_the_overlap(app, world):
    _, missing, _ = _check(app, world, ("0.1", "9.9"))
    assert missing == ["0.1"]
