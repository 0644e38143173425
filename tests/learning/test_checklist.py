"""The trainer's practical checklist: one tap ticks "can do", a second tap withdraws it."""

from sqlalchemy import select

from tests.learning import learning_world
from webapp.extensions import db
from webapp.learning.models import Evidence

HTMX = {"HX-Request": "true"}


def _evidence(person_id):
    return list(
        db.session.scalars(
            select(Evidence).where(Evidence.person_id == person_id).order_by(Evidence.id)
        )
    )


def test_the_grid_shows_learners_and_the_course_competencies(app, world, client, actions):
    with app.app_context():
        lw = learning_world.build(world)
    actions.login("trainer")
    page = client.get(f"/classes/{lw.class_id}/checklist")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Nguyễn Văn An" in text and "Sử dụng thiết bị" in text  # 0.1 by its name
    assert f'id="cell-{lw.learners["An"]}-2-3"' in text
    assert f'id="cell-{lw.learners["An"]}-1-1"' not in text  # not taught by this course
    assert 'aria-pressed="false"' in text


def test_toggle_with_htmx_ticks_then_withdraws(app, world, client, actions):
    with app.app_context():
        lw = learning_world.build(world)
    person_id = lw.learners["Bình"]
    path = f"/classes/{lw.class_id}/checklist"
    actions.login("trainer")
    data = {"person_id": person_id, "code": "2.3"}
    first = actions.post(path, data, token_from=path, headers=HTMX)
    assert first.status_code == 200
    fragment = first.get_data(as_text=True)
    assert fragment.lstrip().startswith("<td") and 'aria-pressed="true"' in fragment
    assert f'id="cell-{person_id}-2-3"' in fragment and "<html" not in fragment
    with app.app_context():
        (evidence,) = _evidence(person_id)
        assert (evidence.kind, evidence.competency_code, evidence.class_id) == (
            "checklist",
            "2.3",
            lw.class_id,
        )
        assert evidence.recorded_by_id == world.users["trainer"] and evidence.is_active
    second = actions.post(path, data, token_from=path, headers=HTMX)
    assert 'aria-pressed="false"' in second.get_data(as_text=True)
    with app.app_context():
        (evidence,) = _evidence(person_id)
        assert evidence.withdrawn_at is not None
        assert evidence.withdrawn_by_id == world.users["trainer"]
    third = actions.post(path, data, token_from=path, headers=HTMX)
    assert 'aria-pressed="true"' in third.get_data(as_text=True)
    with app.app_context():
        assert [e.is_active for e in _evidence(person_id)] == [False, True]


def test_toggle_without_javascript_comes_back_to_the_page(app, world, client, actions):
    with app.app_context():
        lw = learning_world.build(world)
    person_id = lw.learners["Cúc"]
    path = f"/classes/{lw.class_id}/checklist"
    actions.login("organiser")
    response = actions.post(path, {"person_id": person_id, "code": "0.1"}, token_from=path)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{path}#row-{person_id}")
    page = client.get(path).get_data(as_text=True)
    assert page.count('aria-pressed="true"') == 1


def test_refusals(app, world, client, actions):
    with app.app_context():
        lw = learning_world.build(world)
        from tests.factories import make_person
        from webapp.people.models import Village

        outsider = make_person(db.session.get(Village, world.village_ids[0]), "Lê Văn Tám").id
        db.session.commit()
    path = f"/classes/{lw.class_id}/checklist"
    actions.login("trainer")
    not_taught = actions.post(
        path, {"person_id": lw.learners["An"], "code": "1.1"}, token_from=path, headers=HTMX
    )
    assert not_taught.status_code == 200 and 'role="alert"' in not_taught.get_data(as_text=True)
    not_enrolled = actions.post(
        path, {"person_id": outsider, "code": "0.1"}, token_from=path, headers=HTMX
    )
    assert 'role="alert"' in not_enrolled.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Evidence)).all() == []
    actions.logout()
    actions.login("lead")
    assert client.get(path).status_code == 403
    with app.app_context():
        from tests.factories import make_user
        from webapp.people.models import Commune

        make_user("trainer2", "trainer", db.session.get(Commune, world.commune_id))
        db.session.commit()
    actions.logout()
    actions.login("trainer2")  # a trainer of the commune, not of this class
    assert client.get(path).status_code == 403
    assert actions.post(path, {"person_id": lw.learners["An"], "code": "0.1"}).status_code == 403
    actions.logout()
    actions.login("other_organiser")
    assert client.get(path).status_code == 404
