"""Enrolment pages: the roster and waiting list, search-and-enrol with and without htmx,
households, withdrawal with a reason, and the sign-up requests."""

import re
from datetime import timedelta

import pytest

from tests.factories import NOW, make_class, make_course, make_household, make_person, make_user
from webapp.accounts.models import User
from webapp.extensions import db
from webapp.people.models import Commune, Person, Village
from webapp.permissions import Role
from webapp.scheduling import enrolment as rules
from webapp.scheduling.models import CourseClass, Enrolment, SignupRequest


@pytest.fixture
def room(app, world, client):
    """A class of 2 seats trained by ``trainer``, a household of three, other villagers."""
    client.set_cookie("lang", "en")  # messages as written in the code
    with app.app_context():
        trainer = db.session.get(User, world.users["trainer"])
        make_user("gv.nam", Role.TRAINER, db.session.get(Commune, world.commune_id))
        v1, v2 = (db.session.get(Village, i) for i in world.village_ids)
        course = make_course(world.commune_id, trainer.id)
        course_class = make_class(
            course, [trainer], name="Lớp Zalo", capacity=2, public_signup=True
        )
        household = make_household(v1, "T1-021")
        ids = {
            "class": course_class.id,
            "household": household.id,
            "ong": make_person(v1, "Phạm Văn Ông", 1946, household=household).id,
            "ba": make_person(v1, "Phạm Thị Bà", 1950, household=household).id,
            "chau": make_person(v1, "Phạm Văn Cháu", 2001, household=household).id,
            "nhung": make_person(v2, "Nguyễn Thị Hồng Nhung", 1958, phone="0905111222").id,
            "tam": make_person(v2, "Lê Văn Tám", 1962).id,
        }
        db.session.commit()
        return ids


def enrol_in_db(app, room, *keys):
    with app.app_context():
        course_class = db.session.get(CourseClass, room["class"])
        trainer = course_class.trainers[0]
        for minutes, key in enumerate(keys):
            rules.enrol(
                actor=trainer,
                now=NOW + timedelta(minutes=minutes),
                course_class=course_class,
                person=db.session.get(Person, room[key]),
            )
        db.session.commit()
        return {e.person_id: e.id for e in course_class.enrolments}


def statuses(app, room) -> dict[int, str]:
    with app.app_context():
        rows = db.session.execute(
            db.select(Enrolment.person_id, Enrolment.status).where(
                Enrolment.class_id == room["class"]
            )
        )
        return dict(rows.all())


def page(actions, room, query=""):
    return actions.client.get(f"/classes/{room['class']}/enrolment{query}")


def logout(actions):
    """Sign out with a token from a page every staff member may open (a trainer's start
    page is a redirect)."""
    actions.post("/auth/logout", token_from="/people")


# --- search and enrol ----------------------------------------------------------------------------


def test_search_without_javascript_shows_enrol_buttons(actions, room):
    actions.login("trainer")
    html = page(actions, room, "?q=pham").get_data(as_text=True)
    assert "<html" in html
    assert "Phạm Văn Ông" in html and "Phạm Văn Cháu" in html and "Lê Văn Tám" not in html
    assert f'name="person_id" value="{room["ong"]}"' in html
    assert html.count(f'name="household_id" value="{room["household"]}"') == 1  # once, not thrice
    assert 'hx-trigger="input changed delay:300ms, search"' in html


def test_htmx_search_returns_only_the_results(actions, room):
    actions.login("trainer")
    response = actions.client.get(
        f"/classes/{room['class']}/enrolment?q=0905111", headers={"HX-Request": "true"}
    )  # by phone digits
    html = response.get_data(as_text=True)
    assert "<html" not in html and "Nobody is enrolled" not in html
    assert "Nguyễn Thị Hồng Nhung" in html and "Phạm" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_enrol_one_person_then_the_class_fills_and_people_wait(actions, room, app):
    actions.login("trainer")
    path = f"/classes/{room['class']}/enrolment"
    response = actions.post(path, {"person_id": room["nhung"], "q": "nguyen"}, token_from=path)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{path}?q=nguyen")
    html = actions.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Nguyễn Thị Hồng Nhung is enrolled." in html
    actions.post(path, {"person_id": room["tam"]}, token_from=path)
    response = actions.post(path, {"person_id": room["ong"]}, token_from=path)
    html = actions.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The class is full: Phạm Văn Ông is number 1 on the waiting list." in html
    assert statuses(app, room) == {
        room["nhung"]: "enrolled",
        room["tam"]: "enrolled",
        room["ong"]: "waiting",
    }
    roster = page(actions, room).get_data(as_text=True)
    waiting_part = roster[roster.index("Waiting list (1)") :]
    assert "Phạm Văn Ông" in waiting_part and "Lê Văn Tám" not in waiting_part


def test_enrolling_twice_is_refused_with_a_message(actions, room, app):
    enrol_in_db(app, room, "tam")
    actions.login("trainer")
    path = f"/classes/{room['class']}/enrolment"
    response = actions.post(path, {"person_id": room["tam"]}, token_from=path)
    assert response.status_code == 400
    assert "Lê Văn Tám is already in this class." in response.get_data(as_text=True)


def test_enrol_the_whole_household(actions, room, app):
    actions.login("organiser")
    path = f"/classes/{room['class']}/enrolment"
    response = actions.post(path, {"household_id": room["household"]}, token_from=path)
    html = actions.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Household T1-021: 2 enrolled, 1 on the waiting list." in html
    assert statuses(app, room) == {
        room["ong"]: "enrolled",
        room["ba"]: "enrolled",
        room["chau"]: "waiting",
    }
    response = actions.post(path, {"household_id": room["household"]}, token_from=path)
    html = actions.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Everyone in household T1-021 is already in this class." in html


def test_enrol_needs_a_person(actions, room):
    actions.login("trainer")
    path = f"/classes/{room['class']}/enrolment"
    assert actions.post(path, {}, token_from=path).status_code == 422
    assert actions.post(path, {"person_id": 999_999}, token_from=path).status_code == 404


# --- withdrawal ----------------------------------------------------------------------------------


def test_withdraw_needs_a_reason(actions, room, app):
    ids = enrol_in_db(app, room, "tam")
    actions.login("trainer")
    response = actions.post(
        f"/enrolments/{ids[room['tam']]}/withdraw",
        {"reason": " "},
        token_from=f"/classes/{room['class']}/enrolment",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Say why the person leaves the class." in html
    assert re.search(r'<details class="withdraw" open>', html)
    assert statuses(app, room)[room["tam"]] == "enrolled"


def test_withdraw_announces_who_moves_up_from_the_waiting_list(actions, room, app):
    ids = enrol_in_db(app, room, "tam", "nhung", "chau", "ong")  # Cháu waits before Ông
    actions.login("trainer")
    response = actions.post(
        f"/enrolments/{ids[room['tam']]}/withdraw",
        {"reason": "Đi làm xa"},
        token_from=f"/classes/{room['class']}/enrolment",
    )
    assert response.status_code == 302
    html = actions.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Lê Văn Tám has left the class." in html
    assert "Phạm Văn Cháu moves up from the waiting list and now has a seat." in html
    assert statuses(app, room) == {
        room["tam"]: "withdrawn",
        room["nhung"]: "enrolled",
        room["chau"]: "enrolled",
        room["ong"]: "waiting",
    }
    with app.app_context():
        assert db.session.get(Enrolment, ids[room["tam"]]).withdrawn_reason == "Đi làm xa"


# --- who may ---------------------------------------------------------------------------------


def test_only_the_class_trainers_and_organisers_see_the_roster(actions, room, app):
    ids = enrol_in_db(app, room, "tam")
    for user, expected in (
        ("gv.nam", 403),
        ("mentor", 403),
        ("lead", 403),
        ("other_organiser", 404),
        ("organiser", 200),
        ("admin", 200),
    ):
        actions.login(user)
        assert page(actions, room).status_code == expected, user
        if expected != 200:
            response = actions.post(
                f"/enrolments/{ids[room['tam']]}/withdraw", {"reason": "x"}, token_from="/people"
            )
            assert response.status_code == expected, user
        logout(actions)
    assert statuses(app, room)[room["tam"]] == "enrolled"


# --- sign-up requests ----------------------------------------------------------------------------


@pytest.fixture
def requests_(app, room, world):
    with app.app_context():
        course_class = db.session.get(CourseClass, room["class"])
        known = rules.submit_signup(
            now=NOW,
            course_class=course_class,
            full_name="Nguyễn Thị Hồng Nhung",
            birth_year=1958,
            village_id=world.village_ids[1],
            phone="0905111222",
        )
        new = rules.submit_signup(
            now=NOW,
            course_class=course_class,
            full_name="Hồ Văn Mới",
            birth_year=1970,
            village_id=world.village_ids[0],
            phone="",
        )
        db.session.commit()
        return {"known": known.id, "new": new.id}


def test_signups_list_shows_the_matched_person(actions, room, requests_):
    actions.login("trainer")
    html = actions.client.get(f"/classes/{room['class']}/signups").get_data(as_text=True)
    assert "Nguyễn Thị Hồng Nhung" in html and "Hồ Văn Mới" in html
    assert f'href="/people/{room["nhung"]}"' in html  # the registered person, linked
    assert "Not found: confirming registers a new person." in html
    detail = actions.client.get(f"/classes/{room['class']}").get_data(as_text=True)
    assert "2 sign-up requests" in detail


def test_confirm_links_to_the_registered_person_or_registers_a_new_one(
    actions, room, requests_, app
):
    actions.login("trainer")
    signups = f"/classes/{room['class']}/signups"
    response = actions.post(f"/signups/{requests_['known']}/confirm", token_from=signups)
    assert response.status_code == 302 and response.headers["Location"].endswith(signups)
    html = actions.client.get(signups).get_data(as_text=True)
    assert "Nguyễn Thị Hồng Nhung is enrolled." in html
    response = actions.post(f"/signups/{requests_['new']}/confirm", token_from=signups)
    html = actions.client.get(signups).get_data(as_text=True)
    assert "Hồ Văn Mới has been registered." in html and "No request is waiting." in html
    with app.app_context():
        new_person = db.session.scalar(db.select(Person).where(Person.full_name == "Hồ Văn Mới"))
        assert new_person is not None and new_person.village_id is not None
        assert db.session.scalar(db.select(db.func.count()).select_from(Person)) == 6
    assert statuses(app, room) == {room["nhung"]: "enrolled", new_person.id: "enrolled"}


def test_reject_and_second_decision(actions, room, requests_, app):
    actions.login("organiser")
    signups = f"/classes/{room['class']}/signups"
    response = actions.post(f"/signups/{requests_['new']}/reject", token_from=signups)
    assert response.status_code == 302
    html = actions.client.get(signups).get_data(as_text=True)
    assert "The request of Hồ Văn Mới was declined." in html and "Hồ Văn Mới</h2>" not in html
    actions.post(f"/signups/{requests_['new']}/confirm", token_from=signups)
    html = actions.client.get(signups).get_data(as_text=True)
    assert "This request was already handled." in html
    with app.app_context():
        assert db.session.get(SignupRequest, requests_["new"]).status == "rejected"
    assert statuses(app, room) == {}


def test_other_trainers_cannot_decide(actions, room, requests_, app):
    actions.login("gv.nam")
    assert actions.client.get(f"/classes/{room['class']}/signups").status_code == 403
    for decision in ("confirm", "reject"):
        response = actions.post(f"/signups/{requests_['new']}/{decision}", token_from="/people")
        assert response.status_code == 403
    with app.app_context():
        assert db.session.get(SignupRequest, requests_["new"]).status == "pending"


def test_a_class_of_another_commune_is_not_found(actions, room, app, world):
    with app.app_context():
        course = make_course(world.other_commune_id, world.users["other_organiser"])
        other = make_class(course, [], name="Lớp xã khác")
        db.session.commit()
        other_id = other.id
    actions.login("organiser")
    assert actions.client.get(f"/classes/{other_id}/enrolment").status_code == 404
    assert actions.client.get(f"/classes/{other_id}/signups").status_code == 404
