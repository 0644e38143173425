"""Every route against the role table: a new route cannot escape it.

The table says which roles may use each endpoint. The tests check that (1) every endpoint
of ``app.url_map`` is in the table, (2) each view declares exactly those roles, and (3)
a real request as each role gets 403 exactly when the role is not allowed.
"""

import pytest
from flask import url_for

from tests.factories import PASSWORD, make_household, make_person
from webapp.extensions import db
from webapp.people.models import ImportBatch, Village
from webapp.permissions import PUBLIC, Role
from webapp.timeutil import utcnow

ALL = frozenset(Role)
MANAGERS = frozenset({Role.ADMIN, Role.ORGANISER})
EDITORS = MANAGERS | {Role.VILLAGE_LEAD}

ROLE_TABLE: dict[str, frozenset | str] = {
    "static": PUBLIC,
    "site.index": PUBLIC,
    "site.healthz": PUBLIC,
    "site.set_language": PUBLIC,
    "accounts.login": PUBLIC,
    "accounts.logout": ALL,
    "accounts.user_list": MANAGERS,
    "accounts.user_new": MANAGERS,
    "accounts.user_password": MANAGERS,
    "people.index": ALL,
    "people.detail": ALL,
    "people.create": EDITORS,
    "people.edit": EDITORS,
    "people.household": ALL,
    "imports.upload": MANAGERS,
    "imports.template": MANAGERS,
    "imports.preview": MANAGERS,
    "imports.commit": MANAGERS,
}

USERS = {
    Role.ADMIN: "admin",
    Role.ORGANISER: "organiser",
    Role.TRAINER: "trainer",
    Role.MENTOR: "mentor",
    Role.VILLAGE_LEAD: "lead",
}


def test_every_route_is_in_the_role_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(ROLE_TABLE), (
        f"missing from table: {endpoints - set(ROLE_TABLE)}; stale: {set(ROLE_TABLE) - endpoints}"
    )


def test_every_view_declares_the_roles_of_the_table(app):
    for endpoint, view in app.view_functions.items():
        if endpoint == "static":
            continue
        assert getattr(view, "allowed_roles", None) == ROLE_TABLE[endpoint], endpoint


@pytest.fixture
def samples(app, world):
    """URL arguments that point at real records in the village lead's own village."""
    with app.app_context():
        village = db.session.get(Village, world.village_ids[0])
        household = make_household(village, "T1-001")
        person = make_person(village, "Nguyễn Văn Mẫu", household=household)
        batch = ImportBatch(
            token="sample-token",
            commune_id=world.commune_id,
            uploaded_by_id=world.users["organiser"],
            filename="x.csv",
            content=b"",
            created_at=utcnow(),
        )
        db.session.add(batch)
        db.session.commit()
        return {
            "person_id": person.id,
            "household_id": household.id,
            "user_id": world.users["trainer"],
            "token": "sample-token",
            "fmt": "csv",
            "filename": "css/app.css",
        }


def _requests(app, samples):
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if ROLE_TABLE[rule.endpoint] == PUBLIC:
                continue
            url = url_for(rule.endpoint, **{arg: samples[arg] for arg in rule.arguments})
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule.endpoint, method, url


@pytest.mark.parametrize("role", list(Role))
def test_each_role_gets_403_exactly_where_the_table_says(app, samples, actions, role):
    actions.login(USERS[role], PASSWORD)
    token = actions.csrf_token()
    checked = 0
    for endpoint, method, url in _requests(app, samples):
        if endpoint == "accounts.logout":
            continue  # would end the session; covered by the anonymous test below
        response = actions.client.open(url, method=method, data={"csrf_token": token})
        allowed = role in ROLE_TABLE[endpoint]
        if allowed:
            assert response.status_code != 403, (role, method, url)
        else:
            assert response.status_code == 403, (role, method, url, response.status_code)
        checked += 1
    assert checked >= 15


def test_anonymous_visitors_are_sent_to_log_in(app, samples, client):
    for endpoint, method, url in _requests(app, samples):
        response = client.open(url, method=method)
        if method == "GET":
            assert response.status_code == 302, (endpoint, url)
            assert "/auth/login" in response.headers["Location"]
        else:
            assert response.status_code in (302, 400), (endpoint, url)  # 400: no CSRF token


def test_hidden_buttons_match_permissions(app, samples, actions):
    """The trainer may read a person but not edit: no edit button, and 403 if forced."""
    actions.login("trainer")
    page = actions.client.get(f"/people/{samples['person_id']}").get_data(as_text=True)
    assert f"/people/{samples['person_id']}/edit" not in page
    assert "/people/new" not in actions.client.get("/people").get_data(as_text=True)
    assert actions.client.get(f"/people/{samples['person_id']}/edit").status_code == 403
