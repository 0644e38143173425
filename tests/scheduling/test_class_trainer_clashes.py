"""A trainer added to a class must be free at the class's coming sessions: the clash is
refused with the clashing sessions, unless an organiser overrides it with a reason."""

from datetime import timedelta

import pytest

from tests.factories import make_session
from tests.scheduling.sessions_world import build_plan
from webapp.accounts.models import User
from webapp.errors import DomainError
from webapp.extensions import db
from webapp.scheduling import services
from webapp.scheduling.models import ClassSession, CourseClass
from webapp.timeutil import utcnow


@pytest.fixture
def busy(app, world):
    """``trainer`` teaches class 1 in three days at 08:00; class 2 (of ``trainer2``) meets at
    the same time, and also had a session last week at the time of one of class 1's."""
    with app.app_context():
        plan = build_plan(world)
        first = db.session.get(CourseClass, plan.class_id)
        second = db.session.get(CourseClass, plan.class2_id)
        soon = utcnow().replace(hour=1, minute=0, second=0, microsecond=0) + timedelta(days=3)
        past = soon - timedelta(days=10)
        ids = {
            "first": first.id,
            "second": second.id,
            "trainer": world.users["trainer"],
            "trainer2": plan.trainer2_id,
            "busy": make_session(first, soon).id,
            "clashing": make_session(second, soon + timedelta(hours=1)).id,
            "free": make_session(second, soon + timedelta(days=1)).id,
        }
        make_session(first, past)
        make_session(second, past)  # over already: no longer matters
        db.session.commit()
        return ids


def update(ids, actor_key, world, trainer_ids, **fields):
    actor = db.session.get(User, world.users.get(actor_key) or ids.get(actor_key))
    course_class = db.session.get(CourseClass, ids["second"])
    return services.update_class(
        actor=actor, now=utcnow(), course_class=course_class, trainer_ids=trainer_ids, **fields
    )


def trainers_of(class_id) -> set[int]:
    return {t.id for t in db.session.get(CourseClass, class_id).trainers}


# --- the rule ------------------------------------------------------------------------------------


def test_adding_a_busy_trainer_is_refused_with_the_clashes(app, world, busy):
    with app.app_context():
        with pytest.raises(DomainError) as excinfo:
            update(busy, "trainer2", world, [busy["trainer2"], busy["trainer"]])
        error = excinfo.value
        assert error.code == "session_clash" and error.status == 409
        assert [(c.existing.id, c.reason) for c in error.clashes] == [(busy["busy"], "trainer")]
        db.session.rollback()
        assert trainers_of(busy["second"]) == {busy["trainer2"]}


def test_an_organiser_may_override_with_a_reason_which_is_recorded(app, world, busy):
    with app.app_context():
        with pytest.raises(DomainError) as excinfo:
            update(busy, "organiser", world, [busy["trainer2"], busy["trainer"]], override_note=" ")
        assert excinfo.value.code == "override_reason_missing"
        db.session.rollback()
        note = "Cô Hoa chỉ dạy 30 phút đầu"
        update(busy, "organiser", world, [busy["trainer2"], busy["trainer"]], override_note=note)
        db.session.commit()
        assert trainers_of(busy["second"]) == {busy["trainer2"], busy["trainer"]}
        clashing = db.session.get(ClassSession, busy["clashing"])
        assert clashing.clash_override_note == "Cô Hoa chỉ dạy 30 phút đầu"
        assert clashing.clash_override_by_id == world.users["organiser"]
        assert db.session.get(ClassSession, busy["free"]).clash_override_note in (None, "")


def test_a_trainer_cannot_override(app, world, busy):
    with app.app_context():
        with pytest.raises(DomainError) as excinfo:
            update(busy, "trainer2", world, [busy["trainer2"], busy["trainer"]], override_note="Ok")
        assert excinfo.value.code == "session_clash"


@pytest.mark.parametrize(
    "change",
    ["cancel_the_clashing_session", "cancel_the_other_class", "cancel_this_class", "no_new"],
)
def test_no_clash_when_nothing_really_overlaps(app, world, busy, change):
    with app.app_context():
        organiser = db.session.get(User, world.users["organiser"])
        fields, trainer_ids = {}, [busy["trainer2"], busy["trainer"]]
        if change == "cancel_the_clashing_session":
            clashing = db.session.get(ClassSession, busy["clashing"])
            services.cancel_session(actor=organiser, now=utcnow(), session=clashing, reason="Bão")
        elif change == "cancel_the_other_class":
            db.session.get(CourseClass, busy["first"]).status = "cancelled"
        elif change == "cancel_this_class":
            fields["status"] = "cancelled"
        else:
            trainer_ids = [busy["trainer2"]]  # the same trainers: nothing to check
        update(busy, "trainer2", world, trainer_ids, **fields)
        db.session.commit()
        assert trainers_of(busy["second"]) == set(trainer_ids)


# --- the class form ------------------------------------------------------------------------------


def edit(actions, busy, world, **extra):
    path = f"/classes/{busy['second']}/edit"
    data = {
        "name": "Lớp nông dân Thôn 2",
        "trainers": [busy["trainer2"], busy["trainer"]],
        "capacity": "10",
        "status": "open",
        "village_id": world.village_ids[1],
    }
    return actions.post(path, data | extra, token_from=path)


def test_the_form_shows_the_clash_to_a_trainer(app, actions, busy, world, client):
    client.set_cookie("lang", "en")
    actions.login("trainer2")
    response = edit(actions, busy, world)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert f'href="/sessions/{busy["busy"]}"' in html and "the trainer is busy" in html
    assert "Choose other trainers, or ask an organiser." in html
    assert 'name="override_note"' not in html
    with app.app_context():
        assert trainers_of(busy["second"]) == {busy["trainer2"]}


def test_an_organiser_overrides_on_the_form(app, actions, busy, world, client):
    client.set_cookie("lang", "en")
    actions.login("organiser")
    response = edit(actions, busy, world)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert 'name="override"' in html and 'name="override_note"' in html
    response = edit(actions, busy, world, override="y", override_note="Hai nhóm nhỏ")
    assert response.status_code == 302
    with app.app_context():
        assert trainers_of(busy["second"]) == {busy["trainer2"], busy["trainer"]}
        clashing = db.session.get(ClassSession, busy["clashing"])
        assert clashing.clash_override_note == "Hai nhóm nhỏ"
