"""Numbers no framework version or person can have (too large for the database, negative,
zero, text) in the framework and eligibility addresses and in the checklist form: the visitor
gets the not-found or bad-request page, which shows none of the framework or the class, and
nothing is written."""

import pytest
from sqlalchemy import func, select

from tests.learning import learning_world
from webapp.extensions import db
from webapp.learning.models import Evidence

HUGE = "99999999999999999999"
NOT_FOUND = "Không tìm thấy trang"  # the title of the 404 page
BAD_REQUEST = "Yêu cầu không hợp lệ"  # the title of the 400 page
COMPETENCY = "Sử dụng thiết bị"  # competency 0.1 of the draft framework
LEARNER = "Nguyễn Văn An"


@pytest.mark.parametrize("asked", [HUGE, "-1", "0", "abc", str(2**31)])
def test_framework_page_with_an_impossible_version_is_not_found(app, world, client, actions, asked):
    with app.app_context():
        learning_world.build(world)
    actions.login("trainer")
    refused = client.get(f"/framework?version={asked}")
    assert refused.status_code == 404
    text = refused.get_data(as_text=True)
    assert NOT_FOUND in text and COMPETENCY not in text
    shown = client.get("/framework?version=1")
    assert shown.status_code == 200
    text = shown.get_data(as_text=True)
    assert COMPETENCY in text and NOT_FOUND not in text


@pytest.mark.parametrize("asked", [HUGE, "-5", str(2**31), "x"])
def test_eligibility_with_an_impossible_version_is_not_found(app, world, client, actions, asked):
    with app.app_context():
        lw = learning_world.build(world)
    actions.login("trainer")
    path = f"/classes/{lw.class_id}/eligibility"
    refused = client.get(f"{path}?version={asked}")
    assert refused.status_code == 404
    text = refused.get_data(as_text=True)
    assert NOT_FOUND in text and LEARNER not in text
    shown = client.get(f"{path}?version=1")
    assert shown.status_code == 200
    text = shown.get_data(as_text=True)
    assert LEARNER in text and NOT_FOUND not in text


@pytest.mark.parametrize("person_id", [HUGE, "-1", "", "abc", str(2**31)])
def test_checklist_post_with_an_impossible_person_is_refused(
    app, world, client, actions, person_id
):
    with app.app_context():
        lw = learning_world.build(world)
    actions.login("trainer")
    path = f"/classes/{lw.class_id}/checklist"
    response = actions.post(path, {"person_id": person_id, "code": "2.3"}, token_from=path)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert BAD_REQUEST in text and LEARNER not in text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Evidence)) == 0
