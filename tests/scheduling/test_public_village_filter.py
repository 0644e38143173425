"""The public schedule's village filter: a village number that is not a number is ignored,
so the visitor sees the whole commune's schedule, as without a filter (a real village
number shows that village only)."""

import pytest

from tests.factories import make_session
from tests.scheduling.sessions_world import _frozen, build_plan, local8, utc  # noqa: F401
from webapp.extensions import db
from webapp.scheduling.models import CourseClass

THON_1 = '<h2 id="group-1">Thôn 1'
THON_2 = '<h2 id="group-2">Thôn 2'


@pytest.fixture
def schedule(app, world, frozen):
    """A coming session in Thôn 1 (08:00) and one in Thôn 2 (14:00 local)."""
    with app.app_context():
        plan = build_plan(world)
        make_session(db.session.get(CourseClass, plan.class_id), local8(2025, 12, 1))
        make_session(db.session.get(CourseClass, plan.class2_id), utc(2025, 12, 2, 7))
        db.session.commit()


@pytest.mark.parametrize("village", ["abc", "", "1.5", "%00"])
def test_a_village_number_that_is_not_a_number_shows_the_whole_commune(client, schedule, village):
    response = client.get(f"/lich?commune=NGOKBAY&village={village}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert THON_1 in html and THON_2 in html
    assert "08:00–10:00" in html and "14:00–16:00" in html


def test_a_village_number_shows_that_village_only(client, schedule, world):
    html = client.get(f"/lich?village={world.village_ids[1]}").get_data(as_text=True)
    assert "14:00–16:00" in html and "08:00–10:00" not in html and THON_1 not in html
