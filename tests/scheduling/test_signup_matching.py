"""Sign-up requests typed without accents (or from a shared phone) are shown with the
registered people they may be, and the trainer chooses: enrol one of them, or register a new
person. The pages do a fixed number of queries, however many rows they show."""

import pytest

from tests.factories import NOW, make_class, make_course, make_household, make_person
from tests.sql import statements
from webapp.accounts.models import User
from webapp.errors import DomainError
from webapp.extensions import db
from webapp.people.models import Person, Village
from webapp.scheduling import enrolment as rules
from webapp.scheduling.models import Enrolment, SignupRequest, SignupStatus

REGISTERED = "Nguyễn Thị Hồng Nhung"
TYPED = "Nguyen Thi Hong Nhung"  # the same name, typed on a phone without accents


@pytest.fixture
def ctx(app, world):
    """An open class with its public page on, trained by ``trainer``; Nhung (1958, Thôn 1)
    is registered."""
    with app.app_context():
        trainer = db.session.get(User, world.users["trainer"])
        course = make_course(world.commune_id, trainer.id)
        course_class = make_class(course, [trainer], name="Lớp Zalo", public_signup=True)
        v1, v2 = (db.session.get(Village, i) for i in world.village_ids)
        nhung = make_person(v1, REGISTERED, 1958, phone="0905111222")
        db.session.commit()
        yield {
            "trainer": trainer,
            "class": course_class,
            "v1": v1,
            "v2": v2,
            "other_village": db.session.get(Village, world.other_village_id),
            "nhung": nhung,
        }
        db.session.rollback()


def signup(ctx, name=TYPED, year=1958, village=None, phone=""):
    return rules.submit_signup(
        now=NOW,
        course_class=ctx["class"],
        full_name=name,
        birth_year=year,
        village_id=(village or ctx["v1"]).id,
        phone=phone,
    )


def people_count() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(Person))


# --- the rules ---------------------------------------------------------------------------------


def test_a_name_typed_without_accents_is_a_possible_match_not_an_automatic_one(ctx):
    request = signup(ctx)
    assert rules.match_person(request) is None  # not enrolled as her without asking
    match = rules.signup_matches([request])[request.id]
    assert match.exact is None and match.possible == [ctx["nhung"]]


def test_same_phone_and_birth_year_is_a_possible_match(ctx):
    request = signup(ctx, name="Trần Văn Chồng", village=ctx["v2"], phone="0905 111 222")
    match = rules.signup_matches([request])[request.id]
    assert match.exact is None and match.possible == [ctx["nhung"]]


@pytest.mark.parametrize(
    "changes",
    [
        {"year": 1959},  # another birth year
        {"village": "v2"},  # another village, and no phone to tell
        {"name": "Nguyen Thi Hong"},  # another (shorter) name
        {"phone": "0905999888", "name": "Lê Văn Tám"},  # another phone
    ],
)
def test_no_possible_match_without_the_same_birth_year_and_name_or_phone(ctx, changes):
    if "village" in changes:
        changes["village"] = ctx[changes["village"]]
    request = signup(ctx, **changes)
    assert rules.signup_matches([request])[request.id] == rules.SignupMatch(None, [])


def test_the_exact_match_stays_automatic_and_the_look_alikes_are_listed_too(ctx):
    look_alike = make_person(ctx["v1"], "Nguyễn Thị Hông Nhung", 1958)  # other tone marks
    make_person(ctx["other_village"], REGISTERED, 1958)  # another commune: never offered
    request = signup(ctx, name=REGISTERED)
    assert rules.match_person(request) == ctx["nhung"]
    match = rules.signup_matches([request])[request.id]
    assert match.exact == ctx["nhung"] and match.possible == [look_alike]


def test_matches_of_many_requests_are_found_together(ctx):
    other = make_person(ctx["v2"], "Lê Văn Tám", 1962)
    requests = [
        signup(ctx),
        signup(ctx, name="Le Van Tam", year=1962, village=ctx["v2"]),
        signup(ctx, name="Hồ Văn Mới", year=1970),
    ]
    matches = rules.signup_matches(requests)
    assert [matches[r.id].possible for r in requests] == [[ctx["nhung"]], [other], []]


def test_confirm_enrols_the_person_the_trainer_chose(ctx):
    request = signup(ctx)
    before = people_count()
    enrolment = rules.confirm_signup(
        actor=ctx["trainer"], now=NOW, signup=request, person=ctx["nhung"]
    )
    assert enrolment.person_id == ctx["nhung"].id and people_count() == before
    assert request.status == SignupStatus.CONFIRMED and request.person_id == ctx["nhung"].id


def test_confirm_without_a_choice_registers_a_new_person(ctx):
    request = signup(ctx)
    before = people_count()
    enrolment = rules.confirm_signup(actor=ctx["trainer"], now=NOW, signup=request)
    assert enrolment.person_id != ctx["nhung"].id and people_count() == before + 1
    assert enrolment.person.full_name == TYPED


def test_the_chosen_person_must_live_in_the_class_commune(ctx):
    stranger = make_person(ctx["other_village"], REGISTERED, 1958)
    request = signup(ctx)
    before = people_count()
    with pytest.raises(DomainError) as excinfo:
        rules.confirm_signup(actor=ctx["trainer"], now=NOW, signup=request, person=stranger)
    assert excinfo.value.code == "person_other_commune"
    assert request.status == SignupStatus.PENDING and request.person_id is None
    assert people_count() == before


# --- the sign-up requests page -------------------------------------------------------------------


@pytest.fixture
def requests_page(app, ctx, client, actions):
    """The trainer, logged in (English), and a request typed without accents."""
    client.set_cookie("lang", "en")
    typed = signup(ctx)
    db.session.commit()
    actions.login("trainer")
    return {
        "path": f"/classes/{ctx['class'].id}/signups",
        "typed": typed.id,
        "nhung": ctx["nhung"].id,
        "class": ctx["class"].id,
    }


def confirm(actions, page, person=None, signup_id=None):
    data = {} if person is None else {"person": person}
    return actions.post(
        f"/signups/{signup_id or page['typed']}/confirm", data, token_from=page["path"]
    )


def request_of(app, signup_id) -> SignupRequest:
    with app.app_context():
        return db.session.get(SignupRequest, signup_id)


def test_the_page_lets_the_trainer_choose_the_person_or_a_new_one(actions, requests_page):
    html = actions.client.get(requests_page["path"]).get_data(as_text=True)
    assert f'name="person" id="person-{requests_page["typed"]}-{requests_page["nhung"]}"' in html
    assert f'value="{requests_page["nhung"]}"' in html and 'value="new"' in html
    assert "Not found: confirming registers a new person." not in html
    assert REGISTERED in html and "0905111222" in html


def test_an_exact_match_is_chosen_already_and_no_new_person_is_offered(
    app, ctx, actions, requests_page
):
    make_person(ctx["v1"], "Nguyễn Thị Hông Nhung", 1958)
    exact = signup(ctx, name=REGISTERED, phone="0905111222")
    db.session.commit()
    html = actions.client.get(requests_page["path"]).get_data(as_text=True)
    item = html.split(f'id="signup-{exact.id}"', 1)[1].split("</li>", 1)[0]
    assert f'value="{requests_page["nhung"]}" checked' in item
    assert 'value="new"' not in item


def test_confirm_as_the_registered_person_chosen(app, actions, requests_page):
    with app.app_context():
        before = people_count()
    response = confirm(actions, requests_page, person=requests_page["nhung"])
    assert response.status_code == 302
    html = actions.client.get(requests_page["path"]).get_data(as_text=True)
    assert f"{REGISTERED} is enrolled." in html and "has been registered" not in html
    with app.app_context():
        assert people_count() == before
        assert request_of(app, requests_page["typed"]).person_id == requests_page["nhung"]
        enrolled = db.session.scalars(db.select(Enrolment.person_id)).all()
        assert enrolled == [requests_page["nhung"]]


def test_confirm_as_a_new_person(app, actions, requests_page):
    with app.app_context():
        before = people_count()
    assert confirm(actions, requests_page, person="new").status_code == 302
    html = actions.client.get(requests_page["path"]).get_data(as_text=True)
    assert f"{TYPED} has been registered." in html
    with app.app_context():
        assert people_count() == before + 1
        person_id = request_of(app, requests_page["typed"]).person_id
        assert person_id not in (None, requests_page["nhung"])


def test_confirm_without_choosing_is_refused_when_unsure(app, actions, requests_page):
    with app.app_context():
        before = people_count()
    response = confirm(actions, requests_page)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(
        f"{requests_page['path']}#signup-{requests_page['typed']}"
    )
    html = actions.client.get(requests_page["path"]).get_data(as_text=True)
    assert f"Choose who {TYPED} is" in html
    assert request_of(app, requests_page["typed"]).status == SignupStatus.PENDING
    with app.app_context():
        assert people_count() == before
        assert db.session.scalar(db.select(db.func.count()).select_from(Enrolment)) == 0


@pytest.mark.parametrize("person", ["999999", "99999999999999999999", "abc"])
def test_an_unknown_person_is_not_found(app, actions, requests_page, person):
    assert confirm(actions, requests_page, person=person).status_code == 404
    assert request_of(app, requests_page["typed"]).status == SignupStatus.PENDING


def test_a_person_of_another_commune_is_refused(app, ctx, actions, requests_page):
    stranger = make_person(ctx["other_village"], REGISTERED, 1958).id
    db.session.commit()
    assert confirm(actions, requests_page, person=stranger).status_code == 302
    html = actions.client.get(requests_page["path"]).get_data(as_text=True)
    assert "This person lives in another commune." in html
    assert request_of(app, requests_page["typed"]).status == SignupStatus.PENDING


# --- a fixed number of queries per page ----------------------------------------------------------


def count_statements(app, client, path) -> int:
    with statements(app) as seen:
        response = client.get(path)
    assert response.status_code == 200
    return len(seen)


def add_requests(ctx, start, count):
    """Requests that match exactly, nearly (no accents) or not at all, in both villages."""
    for i in range(start, start + count):
        village = ctx["v1"] if i % 2 else ctx["v2"]
        name = f"Trần Văn Số {i}"
        make_person(village, name, 1950 + i, phone=f"09050000{i:02d}")
        typed = [name, "Tran Van So " + str(i), f"Hồ Thị Mới {i}"][i % 3]
        signup(ctx, name=typed, year=1950 + i, village=village, phone=f"09050000{i:02d}")
    db.session.commit()


def test_sign_up_requests_page_queries_do_not_grow_with_the_requests(
    app, ctx, client, requests_page
):
    add_requests(ctx, 1, 3)
    few = count_statements(app, client, requests_page["path"])
    add_requests(ctx, 4, 12)
    many = count_statements(app, client, requests_page["path"])
    html = client.get(requests_page["path"]).get_data(as_text=True)
    assert "Tran Van So 4" in html and "Hồ Thị Mới 14" in html
    assert many == few and few <= 12, (few, many)


def test_enrolment_search_queries_do_not_grow_with_the_results(app, ctx, requests_page, client):
    def add_people(start, count):
        for i in range(start, start + count):
            village = ctx["v1"] if i % 2 else ctx["v2"]
            household = make_household(village, f"H-{i:03d}")
            make_person(village, f"Phạm Văn Tìm {i}", 1950 + i, household=household)
        db.session.commit()

    path = f"/classes/{requests_page['class']}/enrolment?q=pham+van+tim"
    add_people(1, 2)
    few = count_statements(app, client, path)
    add_people(3, 15)
    many = count_statements(app, client, path)
    assert "Phạm Văn Tìm 17" in client.get(path).get_data(as_text=True)
    assert many == few and few <= 12, (few, many)
    htmx = {"HX-Request": "true"}
    with statements(app) as seen:
        assert client.get(path, headers=htmx).status_code == 200
    assert len(seen) <= few
