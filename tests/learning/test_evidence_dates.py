"""The date of a MOOC certificate or a VNeID confirmation is from 01/01/2015 to today in
Vietnam: a date outside is refused with a message giving the range, and nothing is recorded;
the first and the last day of the range are accepted."""

import pytest
from sqlalchemy import func, select

from tests.factories import NOW
from tests.learning import learning_world
from webapp.extensions import db
from webapp.learning.models import Evidence

TODAY = "25/11/2025"  # NOW in Vietnam
REFUSAL = f"Hãy ghi một ngày từ 01/01/2015 đến hôm nay ({TODAY})."


def _post_date(app, world, actions, form: str, typed: str):
    """Post the MOOC or VNeID form of An's evidence page with this date: (response, the
    number of An's evidence rows)."""
    with app.app_context():
        lw = learning_world.build(world)
    person_id = lw.learners["An"]
    path = f"/people/{person_id}/evidence"
    actions.login("trainer")
    data = {"date": typed}
    if form == "mooc":
        data |= {"platform": "binhdanhocvuso.gov.vn", "number": "N-1", "competencies": ["0.1"]}
    response = actions.post(f"{path}/{form}", data, token_from=path)
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(Evidence).where(Evidence.person_id == person_id)
        )
    return response, count


@pytest.mark.parametrize("form", ["mooc", "vneid"])
@pytest.mark.parametrize("typed", ["01/01/0001", "31/12/2014", "01/01/2999", "26/11/2025"])
def test_evidence_dates_out_of_range_are_refused(app, world, actions, clock, form, typed):
    clock.set(NOW)
    response, count = _post_date(app, world, actions, form, typed)
    assert response.status_code == 422 and count == 0
    assert REFUSAL in response.get_data(as_text=True)


@pytest.mark.parametrize("form", ["mooc", "vneid"])
@pytest.mark.parametrize("typed", ["01/01/2015", TODAY])
def test_evidence_dates_in_range_are_accepted(app, world, actions, clock, form, typed):
    clock.set(NOW)
    response, count = _post_date(app, world, actions, form, typed)
    assert response.status_code == 302 and count >= 1
