"""Two learners of the same name are told apart on the eligibility page and the checklist: each
list shows the birth year and village beside the name (templates/_people.html)."""

import re
from datetime import timedelta

import pytest

from tests.factories import NOW, make_person
from tests.learning import learning_world
from tests.learning.learning_world import attend
from webapp.extensions import db
from webapp.people.models import Village
from webapp.scheduling.models import Enrolment

NAME = "Đinh Thị Xuân"


@pytest.fixture
def lw(app, world):
    with app.app_context():
        lw = learning_world.build(world, names=())
        course_class = learning_world.course_class(lw)
        for village_id, year in ((world.village_ids[0], 1950), (world.village_ids[1], 1962)):
            person = make_person(db.session.get(Village, village_id), NAME, year)
            db.session.add(
                Enrolment(
                    course_class=course_class,
                    person=person,
                    status="enrolled",
                    since=NOW - timedelta(days=40),
                )
            )
            db.session.flush()
            if year == 1950:
                attend(person.id, lw.session_ids)
        db.session.commit()
        return lw


PERSON = re.compile(r'<span class="person">(.*?)</span>\s*</span>', re.S)
TAG = re.compile(r"<[^>]+>")


def _rows_named(html: str) -> list[str]:
    """The text of every person in the page's lists who bears ``NAME``."""
    rows = (" ".join(TAG.sub(" ", m).split()) for m in PERSON.findall(html))
    return [row for row in rows if NAME in row]


@pytest.mark.parametrize("page", ["eligibility", "checklist"])
def test_namesakes_show_their_birth_year_and_village(client, actions, lw, page):
    actions.login("trainer")
    response = client.get(f"/classes/{lw.class_id}/{page}")
    assert response.status_code == 200
    rows = _rows_named(response.get_data(as_text=True))
    assert len(rows) == 2, rows
    assert any("1950 · Thôn 1" in row for row in rows), rows
    assert any("1962 · Thôn 2" in row for row in rows), rows
