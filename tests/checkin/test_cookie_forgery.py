"""A phone's check-in cookie is signed: a cookie not signed with the app's secret (a junk
value, or the key of a linked phone signed with another secret) is ignored. The phone gets
the first-visit page, which names nobody, and a one-tap check-in with it is refused
without writing an attendance row; the genuinely signed cookie of that phone does both."""

import re
import secrets

import pytest
from itsdangerous import URLSafeSerializer

from tests.checkin.checkin_world import build
from webapp.checkin.learner_views import COOKIE
from webapp.checkin.models import Attendance, Device
from webapp.extensions import db
from webapp.timeutil import utcnow

CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
NAME = "Đặng Văn Ướt"  # linked to the phone, not checked in yet
WHO_ARE_YOU = "Bạn là ai?"  # the first-visit page's question
I_AM_HERE = "Tôi có mặt"  # the one-tap button of a linked person
BAD_REQUEST = "Yêu cầu không hợp lệ"  # the title of the 400 page
SALT = "lopso-device"  # the app's salt for the phone's cookie


@pytest.fixture
def phone(app, world):
    """The check-in world, and Ướt's phone: (world, Ướt's id, its genuine cookie, the same
    key signed with another secret)."""
    with app.app_context():
        cw = build(world)
        person_id = cw.learners[NAME]
        key, now = secrets.token_urlsafe(18), utcnow()
        db.session.add(Device(key=key, person_id=person_id, created_at=now, last_used_at=now))
        db.session.commit()
    genuine, forged = (
        URLSafeSerializer(secret, salt=SALT).dumps(key)
        for secret in (app.secret_key, "not-the-app-secret")
    )
    return cw, person_id, genuine, forged


def _rows(app) -> int:
    with app.app_context():
        return db.session.query(Attendance).count()


def _tap(client, url, person_id):
    """The one-tap check-in of the phone's person, sent from the page at ``url``."""
    token = CSRF.search(client.get(url).get_data(as_text=True)).group(1)
    return client.post(url, data={"csrf_token": token, "action": "checkin", "person_id": person_id})


@pytest.mark.parametrize("which", ["junk", "forged"])
def test_a_forged_cookie_names_nobody_and_checks_nobody_in(app, client, phone, which):
    cw, person_id, _, forged = phone
    client.set_cookie(COOKIE, "forged" if which == "junk" else forged)
    url = f"/c/{cw.token}"
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert WHO_ARE_YOU in html and NAME not in html and I_AM_HERE not in html
    refused = _tap(client, url, person_id)
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert BAD_REQUEST in text and NAME not in text
    assert _rows(app) == 0


def test_the_genuine_cookie_names_its_person_and_checks_them_in(app, client, phone):
    cw, person_id, genuine, _ = phone
    client.set_cookie(COOKIE, genuine)
    url = f"/c/{cw.token}"
    html = client.get(url).get_data(as_text=True)
    assert NAME in html and I_AM_HERE in html and WHO_ARE_YOU not in html
    assert _tap(client, url, person_id).status_code == 303
    assert _rows(app) == 1
