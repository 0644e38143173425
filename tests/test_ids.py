"""Crafted numbers in addresses and query strings: 404 or the default, never a 500.

Row ids are PostgreSQL ``integer`` columns (at most 2**31 - 1) and SQLite cannot bind a
number beyond 64 bits: a number outside 1 … 2**31 - 1 must not reach the database. Every
rule of ``app.url_map`` with an integer argument is requested with such numbers, as every
role that may open it; every page is requested with a table of crafted query values.
"""

import pytest
from flask import url_for

from tests.factories import PASSWORD
from tests.test_route_roles import USERS, samples  # noqa: F401
from webapp.ids import MAX_ID, RowIdConverter, bounded_int, query_int, row_id
from webapp.permissions import PUBLIC, Role

CRAFTED_IDS = ["99999999999999999999", str(MAX_ID + 1), "-1", "0", "1" * 5000, "٣"]
SENTINEL = 7_654_321  # a row id no sample has: found in the built URL and replaced


def _int_rules(app):
    for rule in app.url_map.iter_rules():
        ints = [name for name, conv in rule._converters.items() if isinstance(conv, RowIdConverter)]
        if ints:
            yield rule, ints


def test_every_integer_in_an_address_is_a_bounded_row_id(app):
    rules = list(_int_rules(app))
    assert len(rules) > 40
    for rule, _ in rules:
        for name, converter in rule._converters.items():
            if name in rule.arguments and not isinstance(converter, RowIdConverter):
                assert type(converter).__name__ not in ("IntegerConverter", "NumberConverter")


def _allowed(app, endpoint, role) -> bool:
    roles = app.view_functions[endpoint].allowed_roles  # checked against ROLE_TABLE elsewhere
    return roles == PUBLIC if role is None else role in roles


def _crafted_urls(app, samples):  # noqa: F811
    with app.test_request_context():
        for rule, ints in _int_rules(app):
            for name in ints:
                values = _args(rule, samples) | {name: SENTINEL}
                url = url_for(rule.endpoint, **values)
                assert str(SENTINEL) in url
                for crafted in [*CRAFTED_IDS, str(MAX_ID)]:
                    for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                        yield rule.endpoint, method, url.replace(str(SENTINEL), crafted), crafted


@pytest.mark.parametrize("role", [None, *Role])
def test_crafted_ids_in_addresses_are_not_found(app, samples, actions, role):  # noqa: F811
    if role is not None:
        actions.login(USERS[role], PASSWORD)
    token = actions.csrf_token()
    checked = 0
    for endpoint, method, url, crafted in _crafted_urls(app, samples):
        allowed = _allowed(app, endpoint, role)
        if not allowed or endpoint == "accounts.logout":
            continue
        response = actions.client.open(url, method=method, data={"csrf_token": token})
        if crafted == str(MAX_ID):  # a row id that could exist: the view says it is not there
            assert response.status_code in (400, 403, 404, 410), (method, url, response.status_code)
        else:  # not a row id at all: the address matches no route (405 when the same path
            # has a rule for another method: Werkzeug's matcher tells so before converting)
            assert response.status_code in (404, 405), (method, url, response.status_code)
        checked += 1
    assert checked >= (0 if role is None else 20)


# Every integer parameter a page reads (and a few text ones), each given every crafted value
# over the lines: one request per line and page.
PARAMS = ["page", "village", "person", "person_id", "course_id", "version", "trainer", "per_page"]
VALUES = ["99999999999999999999", str(MAX_ID + 1), str(MAX_ID), "-5", "1e9", "%00"]
CRAFTED_QUERIES = [
    "&".join(f"{p}={VALUES[(i + n) % len(VALUES)]}" for n, p in enumerate(PARAMS))
    for i in range(len(VALUES))
] + ["commune=%00&status=%00&q=%00%07&code=%00&group=%00&week=9999-99-99&month=%00&q=" + "x" * 3000]


def _args(rule, samples) -> dict:  # noqa: F811
    """The sample records for a rule's arguments (1 or "x" for an argument new to them)."""
    default = {
        name: 1 if isinstance(conv, RowIdConverter) else min(getattr(conv, "items", "x"))
        for name, conv in rule._converters.items()
    }
    return {arg: samples.get(arg, default.get(arg)) for arg in rule.arguments}


def _pages(app, samples):  # noqa: F811
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" in rule.methods and rule.endpoint not in ("static", "accounts.logout"):
                url = url_for(rule.endpoint, **_args(rule, samples))
                if not url.endswith(".pdf"):  # documents read no query values (and are slow)
                    yield rule.endpoint, url


@pytest.mark.parametrize("role", [None, Role.ADMIN])
def test_crafted_query_values_fall_back(app, samples, actions, role):  # noqa: F811
    if role is not None:
        actions.login(USERS[role], PASSWORD)
    for endpoint, url in _pages(app, samples):
        allowed = _allowed(app, endpoint, role)
        if not allowed:
            continue
        plain = actions.client.get(url).status_code
        for query in CRAFTED_QUERIES:
            response = actions.client.get(f"{url}?{query}")
            assert response.status_code < 500, (url, query, response.status_code)
            if endpoint in ("people.index", "scheduling.class_list", "enrolment.manage"):
                assert response.status_code == plain == 200, (url, query)


def test_list_pages_fall_back_to_the_first_page(app, samples, actions):  # noqa: F811
    actions.login("organiser")
    first = actions.client.get("/people").get_data(as_text=True)
    assert "Nguyễn Văn Mẫu" in first
    for query in ("page=99999999999999999999", "page=-5", "page=abc", "page=0"):
        assert "Nguyễn Văn Mẫu" in actions.client.get(f"/people?{query}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", 1),
        (" 42 ", 42),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("99999999999999999999", None),
        ("1" * 5000, None),
        ("0", None),
        ("-1", None),
        ("1e9", None),
        ("1.0", None),
        ("٣", None),
        ("", None),
        (None, None),
        ("\x00", None),
        (True, None),
        (7, 7),
    ],
)
def test_row_id_is_a_plain_bounded_integer(value, expected):
    assert row_id(value) == expected


def test_query_int_falls_back_to_its_default(app):
    for query, expected in [
        ("page=3", 3),
        ("page=-5", 1),
        ("page=x", 1),
        ("", 1),
        ("page=99999999999999999999", 1),
    ]:
        with app.test_request_context(f"/?{query}"):
            assert query_int("page", 1) == expected
    with app.test_request_context("/", method="POST", data={"choice": "0"}):
        assert query_int("choice", low=0) == 0
    assert bounded_int("-3", -5, 5) == -3
