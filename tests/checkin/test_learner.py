"""The learner's phone: identify once, check in with one tap, already checked in, ask to join."""

import re

import pytest

from tests.checkin.checkin_world import build
from webapp.checkin.learner_views import COOKIE
from webapp.checkin.models import Attendance, Device, JoinRequest
from webapp.extensions import db
from webapp.people.models import Person

CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@pytest.fixture
def cw(app, world):
    with app.app_context():
        return build(world)


def _csrf(client, url):
    page = client.get(url)
    return CSRF.search(page.get_data(as_text=True)).group(1)


def _rows(app):
    with app.app_context():
        return db.session.query(Attendance).count()


def test_first_time_identify_then_one_tap(app, client, cw):
    url = f"/c/{cw.token}"
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Số điện thoại" in html or "phone" in html
    response = client.post(url, data={"csrf_token": _csrf(client, url), "action": "identify",
                                      "phone": "0905 123 456", "birth_year": "1958"})  # fmt: skip
    assert response.status_code == 303
    assert COOKIE in response.headers.get("Set-Cookie", "")
    done = client.get(response.headers["Location"])
    text = done.get_data(as_text=True)
    assert "Nguyễn Thị Hồng Nhung" in text
    assert _rows(app) == 1
    # Second scan: the phone knows her, and she is already checked in.
    again = client.get(url).get_data(as_text=True)
    assert "Nguyễn Thị Hồng Nhung" in again
    assert 'value="checkin"' not in again
    # A repeated tap (two tabs) gives the same record, never a second row.
    with app.app_context():
        person_id = db.session.query(Person.id).filter_by(full_name="Nguyễn Thị Hồng Nhung").scalar()
    response = client.post(url, data={"csrf_token": _csrf(client, url), "action": "checkin",
                                      "person_id": person_id})  # fmt: skip
    assert response.status_code == 303
    assert "Already checked in" in client.get(response.headers["Location"]).get_data(as_text=True) or \
        "Đã điểm danh" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert _rows(app) == 1


def test_learner_code_identifies(app, client, cw):
    with app.app_context():
        code = db.session.get(Person, cw.learners["Y Blích"]).learner_code
    url = f"/c/{cw.token}"
    response = client.post(url, data={"csrf_token": _csrf(client, url), "action": "identify",
                                      "learner_code": code.lower()})  # fmt: skip
    assert response.status_code == 303
    assert _rows(app) == 1


def test_unknown_person_gets_message_and_nothing_written(app, client, cw):
    url = f"/c/{cw.token}"
    response = client.post(url, data={"csrf_token": _csrf(client, url), "action": "identify",
                                      "phone": "0900000000", "birth_year": "1958"})  # fmt: skip
    assert response.status_code == 400
    assert COOKIE not in response.headers.get("Set-Cookie", "")
    assert _rows(app) == 0


def test_not_enrolled_asks_to_join(app, client, cw):
    url = f"/c/{cw.token}"
    response = client.post(url, data={"csrf_token": _csrf(client, url), "action": "identify",
                                      "phone": "0911222333", "birth_year": "1970"})  # fmt: skip
    assert response.status_code == 409
    assert COOKIE in response.headers.get("Set-Cookie", "")  # remembered all the same
    assert 'value="join"' in response.get_data(as_text=True)
    response = client.post(url, data={"csrf_token": _csrf(client, url), "action": "join",
                                      "person_id": cw.outsider_id})  # fmt: skip
    assert response.status_code == 303
    assert "Lê Văn Tám" in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.query(JoinRequest).count() == 1
        assert db.session.query(Device).count() == 1
    assert _rows(app) == 0


def test_typed_code_leads_to_the_session(client, cw):
    response = client.get("/c", query_string={"code": cw.code.lower()})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/c/{cw.token}")
    assert client.get("/c", query_string={"code": "QQQQQQ"}).status_code == 404


def test_unknown_token_is_a_plain_page(client, cw):
    response = client.get("/c/nope")
    assert response.status_code == 404


def test_forged_cookie_is_ignored(client, cw):
    client.set_cookie(COOKIE, "forged")
    assert client.get(f"/c/{cw.token}").status_code == 200


def test_learner_pages_are_small(client, cw, app):
    with client.get("/static/css/learner.css") as response:
        css = len(response.data)
    page = len(client.get(f"/c/{cw.token}").data)
    assert page + css <= 30 * 1024, (page, css)
