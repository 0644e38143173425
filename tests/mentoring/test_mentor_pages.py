"""The mentor's phone pages (/mentor): mentees by household, the most overdue first, a meeting
logged in a few taps with attendance and attestations, the mentee's confirmation on their
remembered phone; light (≤ 30 KB, no script) and a fixed number of SQL statements."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import NOW, make_household
from tests.sql import statements
from tests.test_light_pages import LIMIT, weight
from webapp.checkin import learner_views
from webapp.checkin.models import Attendance, Device, OccasionKind
from webapp.extensions import db
from webapp.learning.framework import seed_framework
from webapp.learning.models import Evidence
from webapp.mentoring import meetings, services
from webapp.mentoring.models import Meeting, MeetingConfirmation
from webapp.people.models import Person
from webapp.timeutil import to_local

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
NONCE = re.compile(r'name="nonce"[^>]*value="([^"]+)"')


@pytest.fixture
def home(mw, clock, actions):
    """Mentor An (log-in "mentor") with a household of three (assigned today) and Ông Ba,
    assigned 20 days ago and never met (overdue); the mentor logged in."""
    seed_framework(NOW)
    clock.set(NOW)
    household = make_household(mw.v1, "T1-050")
    family = [
        mw.villager(name, year, household=household)
        for name, year in (
            ("Nguyễn Thị Hoa", 1950),
            ("Nguyễn Văn Lâm", 1948),
            ("Nguyễn Thị Mai", 1975),
        )
    ]
    organiser, an = mw.users["organiser"], mw.mentors["an"]
    services.assign_household(actor=organiser, now=NOW, mentor=an, household=household)
    ba = mw.villager("Trần Văn Ba", 1945)
    services.assign(actor=organiser, now=NOW - timedelta(days=20), mentor=an, person=ba)
    db.session.commit()
    actions.login("mentor")
    return family, ba


def _csrf(response) -> str:
    return CSRF.search(response.get_data(as_text=True)).group(1)


def _log(actions, people, *, codes=(), nonce=None, held="yes"):
    form = actions.client.get("/mentor/meeting/new")
    local = to_local(NOW)
    data = {
        "csrf_token": _csrf(form),
        "nonce": nonce or NONCE.search(form.get_data(as_text=True)).group(1),
        "people": [p.id for p in people],
        "held": held,
        "place": "home",
        "day": local.strftime("%d/%m/%Y"),
        "time": local.strftime("%H:%M"),
        "minutes": "60",
        "practised": list(codes),
        "note": "",
    }
    return actions.client.post("/mentor/meeting/new", data=data), data


def test_a_mentor_lands_on_their_mentees_overdue_first(home, actions):
    start = actions.client.get("/")
    assert start.status_code == 302 and start.headers["Location"].endswith("/mentor")
    page = actions.client.get("/mentor")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.index("Trần Văn Ba") < html.index("Nguyễn Thị Hoa")  # overdue first
    assert "quá hạn" in html.lower()
    assert "Hộ T1-050" in html
    assert only_the_offline_script(html)
    total, sheets = weight(actions.client, html)
    assert sheets[0].endswith("/css/learner.css") and total <= LIMIT, (sheets, total)


def test_the_meeting_pages_are_light_too(home, actions):
    family, _ = home
    form = actions.client.get("/mentor/meeting/new")
    response, _ = _log(actions, family, codes=["1.1", "1.2", "2.1"])
    meeting = actions.client.get(response.headers["Location"])
    for page in (form, meeting):
        html = page.get_data(as_text=True)
        total, sheets = weight(actions.client, html)
        assert page.status_code == 200 and only_the_offline_script(html)
        assert sheets[0].endswith("/css/learner.css") and total <= LIMIT, (sheets, total)


def test_logging_a_household_meeting_records_attendance_once(home, actions, app):
    family, _ = home
    response, data = _log(actions, family, codes=["1.1"])
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    again = actions.client.post("/mentor/meeting/new", data=data)  # the same form sent twice
    assert again.status_code == 303
    assert db.session.scalar(select(func.count(Meeting.id))) == 1
    rows = db.session.scalars(
        select(Attendance).where(Attendance.occasion_kind == OccasionKind.MEETING)
    ).all()
    assert sorted(r.person_id for r in rows) == sorted(p.id for p in family)
    assert {r.status for r in rows} == {"present"}


def test_attesting_after_the_meeting_records_mentor_evidence(home, actions):
    family, _ = home
    response, _ = _log(actions, family, codes=["1.1"])
    page = actions.client.get(response.headers["Location"])
    assert "Gặp Đại sứ số" not in page.get_data(
        as_text=True
    )  # the mentor's page, not the learner's
    mai = family[2]
    attest = actions.client.post(
        response.headers["Location"] + "/attest",
        data={"csrf_token": _csrf(page), "can": [f"{mai.id}:1.1"]},
    )
    assert attest.status_code == 303
    evidence = db.session.scalars(select(Evidence).where(Evidence.kind == "mentor")).all()
    assert [(e.person_id, e.competency_code) for e in evidence] == [(mai.id, "1.1")]
    assert evidence[0].detail["mentor_name"] == "Nguyễn Văn An"


def test_attesting_someone_who_was_not_there_is_refused(home, actions):
    family, ba = home
    response, _ = _log(actions, family[:1], codes=["1.1"])
    page = actions.client.get(response.headers["Location"])
    refused = actions.client.post(
        response.headers["Location"] + "/attest",
        data={"csrf_token": _csrf(page), "can": [f"{ba.id}:1.1"]},
    )
    assert refused.status_code == 422
    assert db.session.scalar(select(func.count(Evidence.id))) == 0


def test_a_meeting_in_the_future_is_refused_in_vietnamese_and_writes_nothing(home, actions):
    family, _ = home
    form = actions.client.get("/mentor/meeting/new")
    tomorrow = to_local(NOW + timedelta(days=1))
    response = actions.client.post(
        "/mentor/meeting/new",
        data={
            "csrf_token": _csrf(form),
            "people": [family[0].id],
            "held": "yes",
            "place": "home",
            "day": tomorrow.strftime("%d/%m/%Y"),
            "time": "08:00",
            "minutes": "60",
        },
    )
    assert response.status_code == 400
    assert "Chỉ ghi buổi gặp khi đã diễn ra" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Meeting.id))) == 0


def test_the_mentee_confirms_on_their_remembered_phone(home, actions, app, client):
    family, _ = home
    _log(actions, family)
    hoa = family[0]
    db.session.add(Device(key="phone-hoa", person_id=hoa.id, created_at=NOW, last_used_at=NOW))
    db.session.commit()
    actions.logout()
    with app.test_request_context():
        client.set_cookie(learner_views.COOKIE, learner_views._signer().dumps("phone-hoa"))
    phone = client.get("/hoc")
    html = phone.get_data(as_text=True)
    assert "Đại sứ số Nguyễn Văn An đã gặp bạn hôm nay?" in html
    action = re.search(r'action="(/hoc/gap/\d+)"', html).group(1)
    for _ in range(2):  # a second tap changes nothing
        done = client.post(action, data={"csrf_token": _csrf(phone), "person_id": hoa.id})
        assert done.status_code == 303
    assert db.session.scalar(select(func.count(MeetingConfirmation.id))) == 1
    assert "đã gặp bạn hôm nay" not in client.get("/hoc").get_data(as_text=True)


def test_a_phone_cannot_confirm_for_someone_it_does_not_know(home, actions, app, client):
    family, _ = home
    _log(actions, family)
    db.session.add(
        Device(key="phone-hoa", person_id=family[0].id, created_at=NOW, last_used_at=NOW)
    )
    db.session.commit()
    meeting_id = db.session.scalar(select(Meeting.id))
    actions.logout()
    with app.test_request_context():
        client.set_cookie(learner_views.COOKIE, learner_views._signer().dumps("phone-hoa"))
    phone = client.get("/hoc")
    other = client.post(
        f"/hoc/gap/{meeting_id}", data={"csrf_token": _csrf(phone), "person_id": family[1].id}
    )
    assert other.status_code == 400
    assert db.session.scalar(select(func.count(MeetingConfirmation.id))) == 0


def test_the_mentor_page_makes_a_fixed_number_of_statements(home, mw, actions, app):
    family, _ = home
    _log(actions, family, codes=["1.1"])
    with statements(app) as few:
        assert actions.client.get("/mentor").status_code == 200
    for i in range(8):
        person = mw.villager(f"Lê Thị Số {i}", 1950 + i)
        services.assign(
            actor=mw.users["organiser"], now=NOW, mentor=mw.mentors["an"], person=person
        )
    db.session.commit()
    _log(
        actions, db.session.scalars(select(Person).where(Person.full_name.like("Lê Thị Số%"))).all()
    )
    with statements(app) as many:
        assert actions.client.get("/mentor").status_code == 200
    assert len(many) == len(few), "\n".join(many)


def test_a_mentor_sees_only_their_own_mentees_and_meetings(home, mw, actions):
    other = mw.villager("Võ Thị Người Khác", 1944)
    binh = mw.mentors["binh"]
    services.assign(actor=mw.users["organiser"], now=NOW, mentor=binh, person=other)
    theirs = meetings.log_meeting(
        actor=mw.users["organiser"],
        now=NOW,
        mentor=binh,
        details=meetings.MeetingDetails(people=[other], minutes=30, place="home"),
    )
    db.session.commit()
    assert "Võ Thị Người Khác" not in actions.client.get("/mentor").get_data(as_text=True)
    assert "Võ Thị Người Khác" not in actions.client.get("/mentor/meeting/new").get_data(
        as_text=True
    )
    assert actions.client.get(f"/mentor/meeting/{theirs.id}").status_code == 404
    page = actions.client.get("/mentor")
    attest = actions.client.post(
        f"/mentor/meeting/{theirs.id}/attest", data={"csrf_token": _csrf(page)}
    )
    assert attest.status_code == 404
    # Ticking someone else's mentee by sending their id: not one of the form's choices.
    response, _ = _log(actions, [other])
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(Meeting.id))) == 1


def test_a_photo_of_a_mentees_learner_card_records_them(home, actions, app):
    import io

    from tests.checkin.test_cards import _png
    from webapp.checkin.cards_views import card_url
    from webapp.checkin.phones import ensure_learner_codes

    family, ba = home
    response, _ = _log(actions, family[:1])
    ensure_learner_codes([ba])
    db.session.commit()
    with app.test_request_context():
        text = card_url(ba)
    page = actions.client.get(response.headers["Location"])
    sent = actions.client.post(
        response.headers["Location"] + "/present",
        data={"csrf_token": _csrf(page), "photo": (io.BytesIO(_png(text)), "the card.jpg")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 303, sent.get_data(as_text=True)[:2000]
    record = db.session.scalar(
        select(Attendance).where(
            Attendance.person_id == ba.id, Attendance.occasion_kind == OccasionKind.MEETING
        )
    )
    assert record is not None and record.method == "card"
    junk = actions.client.post(
        response.headers["Location"] + "/present",
        data={"csrf_token": _csrf(page), "photo": (io.BytesIO(b"not a photo"), "x.jpg")},
        content_type="multipart/form-data",
    )
    assert junk.status_code == 422 and "không phải là ảnh" in junk.get_data(as_text=True)


def only_the_offline_script(html: str) -> bool:
    """The mentor's pages are light (no htmx, no other script) but keep a meeting logged
    without signal: our own static/js/offline.js only (docs/offline.md)."""
    import re

    scripts = re.findall(r"<script\b[^>]*>", html)
    return (
        "htmx" not in html
        and all(re.search(r'src="/static/[0-9a-f]+/js/offline\.js"', t) for t in scripts)
        and len(scripts) <= 1
    )
