"""The learner's phone: identify once, check in with one tap, already checked in, ask to join."""

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from tests.checkin.checkin_world import build
from webapp.checkin.learner_views import COOKIE
from webapp.checkin.models import Attendance, Device, JoinRequest
from webapp.extensions import db
from webapp.people.models import Person

CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
CODE_CHANGED = "Mã này đã đổi. Hãy quét lại mã trên màn hình."
NO_CLASS_WITH_THIS_CODE = "Không có lớp nào đang điểm danh bằng mã này."


@pytest.fixture
def cw(app, world):
    with app.app_context():
        return build(world)


def _csrf(client, url):
    page = client.get(url)
    return CSRF.search(page.get_data(as_text=True)).group(1)


def _post(client, url, **data):
    """A form sent from the page at ``url``, the way the phone's browser sends it."""
    return client.post(url, data={"csrf_token": _csrf(client, url), **data})


def _rows(app):
    with app.app_context():
        return db.session.query(Attendance).count()


def test_first_time_identify_then_one_tap(app, client, cw):
    url = f"/c/{cw.token}"
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Số điện thoại" in html or "phone" in html
    response = client.post(
        url,
        data={
            "csrf_token": _csrf(client, url),
            "action": "identify",
            "phone": "0905 123 456",
            "birth_year": "1958",
        },
    )
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
        person_id = cw.learners["Nguyễn Thị Hồng Nhung"]
    response = client.post(
        url, data={"csrf_token": _csrf(client, url), "action": "checkin", "person_id": person_id}
    )
    assert response.status_code == 303
    assert "Đã điểm danh rồi" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert _rows(app) == 1


def test_learner_code_identifies(app, client, cw):
    with app.app_context():
        code = db.session.get(Person, cw.learners["Y Blích"]).learner_code
    url = f"/c/{cw.token}"
    response = client.post(
        url,
        data={"csrf_token": _csrf(client, url), "action": "identify", "learner_code": code.lower()},
    )
    assert response.status_code == 303
    assert _rows(app) == 1


def test_unknown_person_gets_message_and_nothing_written(app, client, cw):
    url = f"/c/{cw.token}"
    response = client.post(
        url,
        data={
            "csrf_token": _csrf(client, url),
            "action": "identify",
            "phone": "0900000000",
            "birth_year": "1958",
        },
    )
    assert response.status_code == 400
    assert COOKIE not in response.headers.get("Set-Cookie", "")
    assert _rows(app) == 0


def test_not_enrolled_asks_to_join(app, client, cw):
    # Refused like anybody else (nothing named, nothing remembered); the same details, sent
    # again with "ask", reach the trainer, and the answer names nobody either.
    url = f"/c/{cw.token}"
    response = _post(client, url, action="identify", phone="0911222333", birth_year="1970")
    assert response.status_code == 400
    assert COOKIE not in response.headers.get("Set-Cookie", "")
    assert 'value="ask"' in response.get_data(as_text=True)
    response = _post(client, url, action="ask", phone="0911222333", birth_year="1970")
    assert response.status_code == 303
    assert COOKIE not in response.headers.get("Set-Cookie", "")
    sent = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Lê Văn Tám" not in sent and "giảng viên" in sent
    with app.app_context():
        [join] = db.session.query(JoinRequest).all()
        assert join.person_id == cw.outsider_id and join.device_key is None
        assert db.session.query(Device).count() == 0
    assert _rows(app) == 0


def test_typed_code_leads_to_the_session(client, cw):
    response = client.get("/c", query_string={"code": cw.code.lower()})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/c/{cw.token}")
    unknown = client.get("/c", query_string={"code": "QQQQQQ"})
    assert unknown.status_code == 404
    assert NO_CLASS_WITH_THIS_CODE in unknown.get_data(as_text=True)


def test_learner_pages_are_small(client, cw, app):
    with client.get("/static/css/learner.css") as response:
        css = len(response.data)
    url = f"/c/{cw.token}"
    pages = {"first visit": client.get(url).data}
    pages["error"] = _post(
        client, url, action="identify", phone="0900000000", birth_year="1958"
    ).data
    pages["not enrolled"] = _post(
        client, url, action="identify", phone="0911222333", birth_year="1970"
    ).data
    done = _post(client, url, action="identify", phone="0905123456", birth_year="1958")
    pages["checked in"] = client.get(done.headers["Location"]).data
    pages["phone of two people"] = client.get(url + "?other=1").data
    pages["typed code"] = client.get("/c").data
    for name, page in pages.items():
        assert len(page) + css <= 30 * 1024, (name, len(page), css)
    assert "Nguyễn Thị Hồng Nhung" in pages["phone of two people"].decode()


def test_guessing_is_slowed_down(app, client, cw):
    app.config["CHECKIN_MAX_FAILURES_PER_ADDRESS"] = 3
    try:
        url = f"/c/{cw.token}"
        for year in (1950, 1951, 1952):
            response = _post(client, url, action="identify", phone="0905123456", birth_year=year)
            assert response.status_code == 400
        # The right answer now waits too: the address has guessed too often.
        response = client.post(
            url,
            data={
                "csrf_token": _csrf(client, url),
                "action": "identify",
                "phone": "0905123456",
                "birth_year": "1958",
            },
        )
        assert response.status_code == 429
        assert _rows(app) == 0
    finally:
        app.config["CHECKIN_MAX_FAILURES_PER_ADDRESS"] = 30


def test_rotating_code_changes_the_qr_and_old_photos_stop_working(app, actions, client, cw):
    from webapp.checkin import services
    from webapp.checkin.models import CheckinPoint
    from webapp.timeutil import utcnow

    actions.login("trainer")
    live = f"/sessions/{cw.session_id}/live"
    actions.post(f"/sessions/{cw.session_id}/live/rotating", {"rotating": "1"}, token_from=live)
    html = client.get(f"/sessions/{cw.session_id}/live/qr").get_data(as_text=True)
    with app.app_context():
        point = db.session.query(CheckinPoint).filter_by(token=cw.token).one()
        now = utcnow()
        code = services.current_code(point, now)
        stale = services.rotating_code(point, services.step_of(now) - 2)
    assert f"/c/{cw.token}/{code}" in html
    actions.logout()
    for old in (f"/c/{cw.token}", f"/c/{cw.token}/{stale}"):  # the fixed QR, an old photo
        refused = client.get(old)
        assert refused.status_code == 400
        assert CODE_CHANGED in refused.get_data(as_text=True)
    assert client.get(f"/c/{cw.token}/{code}").status_code == 200
    # Typing the code on the screen leads to the same page.
    response = client.get("/c", query_string={"code": code})
    assert response.headers["Location"].endswith(f"/c/{cw.token}/{code}")


def test_revoked_phone_must_identify_again(app, actions, client, cw):
    url = f"/c/{cw.token}"
    client.post(
        url,
        data={
            "csrf_token": _csrf(client, url),
            "action": "identify",
            "phone": "0905123456",
            "birth_year": "1958",
        },
    )
    assert 'value="identify"' not in client.get(url).get_data(as_text=True)
    with app.app_context():
        device_id = db.session.query(Device.id).scalar()
    staff = app.test_client()
    from tests.conftest import Actions

    trainer = Actions(staff)
    trainer.login("trainer")
    person_page = f"/people/{cw.learners['Nguyễn Thị Hồng Nhung']}/attendance"
    assert f"/devices/{device_id}/revoke" in staff.get(person_page).get_data(as_text=True)
    response = trainer.post(f"/devices/{device_id}/revoke", token_from=person_page)
    assert response.status_code == 302
    assert f"/devices/{device_id}/revoke" not in staff.get(person_page).get_data(as_text=True)
    assert 'value="identify"' in client.get(url).get_data(as_text=True)


def test_a_neighbours_typos_do_not_block_a_remembered_phone(app, client, cw):
    url = f"/c/{cw.token}"
    _post(client, url, action="identify", phone="0905123456", birth_year="1958")
    person_id = cw.learners["Nguyễn Thị Hồng Nhung"]
    neighbour = app.test_client()  # same address (one mobile network), another phone
    app.config["CHECKIN_MAX_FAILURES_PER_ADDRESS"] = 2
    try:
        for _ in range(3):
            _post(neighbour, url, action="identify", phone="0999999999", birth_year="1950")
        assert (
            _post(
                neighbour, url, action="identify", phone="0905765432", birth_year="1949"
            ).status_code
            == 429
        )
        # The remembered phone still checks in with one tap.
        response = _post(client, url, action="checkin", person_id=person_id)
        assert response.status_code == 303
    finally:
        app.config["CHECKIN_MAX_FAILURES_PER_ADDRESS"] = 30


def test_one_phone_number_cannot_be_tried_with_every_birth_year(app, cw):
    app.config["CHECKIN_MAX_FAILURES_PER_PHONE"] = 3
    try:
        url = f"/c/{cw.token}"
        for year in (1950, 1951, 1952):  # from three different addresses
            other = app.test_client()
            other.environ_base["REMOTE_ADDR"] = f"10.0.0.{year - 1900}"
            _post(other, url, action="identify", phone="0905123456", birth_year=year)
        last = app.test_client()
        last.environ_base["REMOTE_ADDR"] = "10.0.1.1"
        response = _post(last, url, action="identify", phone="0905 123 456", birth_year="1958")
        assert response.status_code == 429
        assert _rows(app) == 0
    finally:
        app.config["CHECKIN_MAX_FAILURES_PER_PHONE"] = 5  # the default


def test_absurd_birth_year_is_a_message_not_an_error(app, client, cw):
    url = f"/c/{cw.token}"
    response = _post(client, url, action="identify", phone="0905123456", birth_year="9" * 400)
    assert response.status_code == 422
    assert "Hãy nhập năm, ví dụ 1958." in response.get_data(as_text=True)
    assert _rows(app) == 0


def test_slow_typists_keep_their_rotating_code(app, actions, client, cw, clock):
    """The page opened with a valid rotating code: typing may take longer than a minute."""
    from datetime import timedelta

    from webapp.checkin import services
    from webapp.checkin.models import CheckinPoint
    from webapp.timeutil import utcnow

    with app.app_context():
        point = db.session.query(CheckinPoint).filter_by(token=cw.token).one()
        point.rotating = True
        db.session.commit()
        code = services.current_code(point, utcnow())
    url = f"/c/{cw.token}/{code}"
    page = client.get(url).get_data(as_text=True)
    ticket = re.search(r'name="ticket" value="([^"]+)"', page).group(1)
    csrf = CSRF.search(page).group(1)
    clock.set(utcnow() + timedelta(minutes=3))
    form = {"csrf_token": csrf, "action": "identify", "phone": "0905123456", "birth_year": "1958"}
    # Without the page's ticket the old code is refused; with it, accepted.
    for refused in (
        client.post(url, data=form),
        client.post(url, data={**form, "ticket": "forged"}),
    ):
        assert refused.status_code == 400
        assert CODE_CHANGED in refused.get_data(as_text=True)
    assert _rows(app) == 0
    assert client.post(url, data={**form, "ticket": ticket}).status_code == 303
    assert _rows(app) == 1


def test_join_request_from_another_commune_is_refused(app, client, cw, world):
    from tests.factories import make_person
    from webapp.checkin import services
    from webapp.checkin.occasions import SessionOccasion
    from webapp.errors import DomainError
    from webapp.people.models import Village
    from webapp.scheduling.models import ClassSession
    from webapp.timeutil import utcnow

    with app.app_context():
        stranger = make_person(db.session.get(Village, world.other_village_id), "Hồ Văn Xa", 1980)
        occasion = SessionOccasion(db.session.get(ClassSession, cw.session_id))
        with pytest.raises(DomainError) as refused:
            services.request_join(occasion, stranger, now=utcnow(), device_key=None)
        assert refused.value.code == "not_enrolled"


def test_requests_are_counted_per_address_and_per_remembered_phone(app, client, cw):
    from webapp.ratelimit import Throttle

    def counts():
        with app.app_context():
            return {(t.bucket, t.key): t.hits for t in db.session.query(Throttle)}

    url = f"/c/{cw.token}"
    # Coming to class is not counted: a check-in that records an arrival happens once per
    # learner and session.
    _post(client, url, action="identify", phone="0905123456", birth_year="1958")
    assert counts() == {}
    with app.app_context():
        key = db.session.query(Device.key).scalar()
    person_id = cw.learners["Nguyễn Thị Hồng Nhung"]
    # Tapping again is counted, per address and per phone...
    assert _post(client, url, action="checkin", person_id=person_id).status_code == 303
    assert counts() == {("checkin-address", "127.0.0.1"): 1, ("checkin-device", key): 1}
    # ...and stopped beyond the limit.
    app.config["CHECKIN_MAX_PER_DEVICE"] = 1
    try:
        assert _post(client, url, action="checkin", person_id=person_id).status_code == 429
    finally:
        app.config["CHECKIN_MAX_PER_DEVICE"] = 30
    assert counts() == {("checkin-address", "127.0.0.1"): 2, ("checkin-device", key): 2}
    assert _rows(app) == 1
    # A phone identifying for someone already checked in (by the trainer, say) is counted by
    # its address (its key is new).
    other = app.test_client()
    _post(other, url, action="identify", phone="0905123456", birth_year="1958")
    assert counts()[("checkin-address", "127.0.0.1")] == 3


def test_the_counts_table_is_its_primary_key(app):
    # One B-tree per count on SQLite (WITHOUT ROWID); PostgreSQL tables have no row id.
    with app.app_context():
        key = db.inspect(db.engine).get_pk_constraint("throttles")["constrained_columns"]
        sql = (
            db.session.execute(
                db.text("SELECT sql FROM sqlite_master WHERE name = 'throttles'")
            ).scalar()
            if db.engine.dialect.name == "sqlite"
            else "WITHOUT ROWID"
        )
    assert key == ["bucket", "key", "window_start"]
    assert "WITHOUT ROWID" in sql


@contextmanager
def _statements(app):
    """The SQL the app sends, in order (a list filled while the ``with`` block runs)."""
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        sent.append(" ".join(statement.split()[:3]).upper())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_check_in_writes_together_at_the_end(app, client, cw):
    # SQLite lets one transaction write at a time, from its first write to its commit: the
    # check-in reads first (one query) and then writes its rows one after the other (an
    # arrival is not counted against the limits: no count is written).
    url = f"/c/{cw.token}"
    token = _csrf(client, url)
    with _statements(app) as sent:
        response = client.post(
            url,
            data={
                "csrf_token": token,
                "action": "identify",
                "phone": "0905123456",
                "birth_year": "1958",
            },
        )
    assert response.status_code == 303
    assert [s.split()[0] for s in sent] == ["SELECT", "INSERT", "INSERT"], sent
    assert [s.split()[-1] for s in sent[1:]] == ["ATTENDANCE", "CHECKIN_DEVICES"]
    # Returning, one tap on the next visit: the same shape, without the phone's link.
    with app.app_context():
        db.session.query(Attendance).delete()
        db.session.commit()
    token, person_id = _csrf(client, url), cw.learners["Nguyễn Thị Hồng Nhung"]
    with _statements(app) as sent:
        response = client.post(
            url, data={"csrf_token": token, "action": "checkin", "person_id": person_id}
        )
    assert response.status_code == 303
    assert [s.split()[0] for s in sent] == ["SELECT", "INSERT"], sent
    assert sent[1].split()[-1] == "ATTENDANCE"


# --- issue 12 (4): phone number + birth year must not be enough to become someone else -------

NOT_IDENTIFIED = "Chưa điểm danh được với thông tin này."
VALUE = re.compile(r'value="[^"]*"')


def _names(app) -> list[str]:
    with app.app_context():
        return [p.full_name for p in db.session.query(Person)]


def _code_of(app, person_id) -> str:
    with app.app_context():
        return db.session.get(Person, person_id).learner_code


def _refusal(app, client, url, **typed):
    """Send ``typed`` as an identification; the response, its SQL (first words) and body."""
    token = _csrf(client, url)
    with _statements(app) as sent:
        response = client.post(url, data={"csrf_token": token, "action": "identify", **typed})
    return response, sent, response.get_data(as_text=True)


def _assert_refused_and_forgotten(app, response, body):
    assert response.status_code == 400, body
    assert NOT_IDENTIFIED in body
    for name in _names(app):
        assert name not in body, name
    assert "không có tên" not in body and "chưa có tên trong lớp" not in body
    assert COOKIE not in response.headers.get("Set-Cookie", "")
    with app.app_context():
        assert db.session.query(Device).count() == 0
        assert db.session.query(JoinRequest).count() == 0
    assert _rows(app) == 0


def test_every_refused_identification_is_the_same_answer_naming_nobody(app, client, cw, world):
    from tests.factories import make_person
    from webapp.people.models import Village
    from webapp.scheduling.models import Enrolment
    from webapp.timeutil import utcnow

    with app.app_context():  # two members share a phone number and birth year
        twin = make_person(
            db.session.get(Village, world.village_ids[0]), "Đặng Thị Sen", 1949, phone="0905765432"
        )
        db.session.add(
            Enrolment(class_id=cw.class_id, person_id=twin.id, status="enrolled", since=utcnow())
        )
        db.session.commit()
    cases = {
        "nobody has the number": dict(phone="0900000000", birth_year="1958"),
        "a member's number, wrong year": dict(phone="0905123456", birth_year="1959"),
        "not in this class": dict(phone="0911222333", birth_year="1970"),
        "not in this class, +84 form": dict(phone="+84 911 222 333", birth_year="1970"),
        "not in this class, zero lost": dict(phone="911222333", birth_year="1970"),
        "two members share it": dict(phone="0905765432", birth_year="1949"),
        "learner code, not in this class": dict(learner_code=_code_of(app, cw.outsider_id)),
        "unknown learner code": dict(learner_code="QQQQQQ"),
    }
    shapes, bodies = {}, {}
    for case, typed in cases.items():
        response, sent, body = _refusal(app, client, f"/c/{cw.token}", **typed)
        _assert_refused_and_forgotten(app, response, body)
        shapes[case] = sent
        bodies[case] = VALUE.sub("", body)  # without the echoed input and the CSRF token
    # The same page and the same statements (no query branch for someone who exists).
    assert len(set(bodies.values())) == 1, {c: len(b) for c, b in bodies.items()}
    assert len({tuple(s) for s in shapes.values()}) == 1, shapes
    assert shapes["not in this class"][0].startswith("SELECT")


@pytest.mark.parametrize("starts_in", [timedelta(hours=-5), timedelta(hours=5)])
def test_outside_the_window_a_member_is_refused_like_a_stranger(app, client, world, starts_in):
    with app.app_context():
        cw = build(world, starts_in=starts_in)
    response, sent, body = _refusal(
        app, client, f"/c/{cw.token}", phone="0905123456", birth_year="1958"
    )
    _assert_refused_and_forgotten(app, response, body)
    _, stranger, _ = _refusal(app, client, f"/c/{cw.token}", phone="0900000000", birth_year="1958")
    assert sent == stranger


def test_asking_to_join_tells_and_remembers_nothing(app, client, cw):
    url = f"/c/{cw.token}"
    answers = []
    for phone, year in (("0911222333", "1970"), ("0900000000", "1970"), ("0905123456", "1958")):
        response = _post(client, url, action="ask", phone=phone, birth_year=year)
        assert response.status_code == 303
        assert COOKIE not in response.headers.get("Set-Cookie", "")
        page = client.get(response.headers["Location"])
        answers.append((response.headers["Location"], VALUE.sub("", page.get_data(as_text=True))))
        for name in _names(app):
            assert name not in answers[-1][1]
    assert len(set(answers)) == 1  # the same address and page whoever asked
    with app.app_context():
        # Only the one person not in the class is asked for; a member is not.
        assert [j.person_id for j in db.session.query(JoinRequest)] == [cw.outsider_id]
        assert db.session.query(Device).count() == 0
    assert _rows(app) == 0


def test_a_typed_learner_code_waits_for_the_trainer(app, client, cw):
    # A neighbour typing my code on their phone is not silent: it is recorded as a learner
    # code on a phone, and the new link is listed on the trainer's live page to confirm.
    person_id = cw.learners["Y Blích"]
    url = f"/c/{cw.token}"
    response = _post(client, url, action="identify", learner_code=_code_of(app, person_id))
    assert response.status_code == 303
    with app.app_context():
        record = db.session.query(Attendance).one()
        assert (record.person_id, record.method) == (person_id, "code_self")
        device = db.session.query(Device).one()
        assert (device.method, device.confirmed_at) == ("code", None)
        assert device.occasion_id == cw.session_id
    staff = app.test_client()
    from tests.conftest import Actions

    Actions(staff).login("trainer")
    panel = staff.get(f"/sessions/{cw.session_id}/live/panel").get_data(as_text=True)
    assert "Y Blích" in panel and f"/links/{device.id}/confirm" in panel


def test_a_birth_year_search_is_stopped_within_the_session(app, cw, clock):
    """A stranger who knows a number tries every year, each from another address, and later
    again: stopped after CHECKIN_MAX_FAILURES_PER_PHONE tries for the whole session."""
    from webapp.checkin import throttle
    from webapp.timeutil import utcnow

    url, limit = f"/c/{cw.token}", app.config["CHECKIN_MAX_FAILURES_PER_PHONE"]
    assert limit <= 5
    # The clock: inside the check-in window (the session began 10 minutes ago), in a stretch
    # of 25 minutes that the counting day does not turn in (it turns at 03:00 local time).
    for start in (utcnow() - timedelta(minutes=35), utcnow() + timedelta(minutes=60)):
        if (
            throttle.local_day(start).date()
            == throttle.local_day(start + timedelta(minutes=25)).date()
        ):
            break
    clock.set(start)
    tries = 0
    for year in range(1940, 2011):
        stranger = app.test_client()
        stranger.environ_base["REMOTE_ADDR"] = f"10.1.{year // 256}.{year % 256}"
        response = _post(stranger, url, action="identify", phone="0905 123 456", birth_year=year)
        if response.status_code == 429:
            break
        tries += 1
    assert tries == limit  # 1940 + limit is before 1958: never reached
    body = response.get_data(as_text=True)
    assert "nhờ giảng viên điểm danh" in body and "Nguyễn Thị Hồng Nhung" not in body
    # Later in the session (another counting slot of the addresses): still stopped, also for
    # the right year, on a new phone.
    clock.set(start + timedelta(minutes=25))
    late = app.test_client()
    late.environ_base["REMOTE_ADDR"] = "10.9.9.9"
    assert (
        _post(late, url, action="identify", phone="0905123456", birth_year="1958").status_code
        == 429
    )
    assert _rows(app) == 0
    with app.app_context():
        assert db.session.query(Device).count() == 0
    # The real learner's routes still work: the trainer marks her on the class list ...
    from tests.conftest import Actions

    trainer = Actions(app.test_client())
    trainer.login("trainer")
    roster = f"/sessions/{cw.session_id}/roster"
    person_id = cw.learners["Nguyễn Thị Hồng Nhung"]
    trainer.post(
        f"/sessions/{cw.session_id}/roster/{person_id}", {"status": "present"}, token_from=roster
    )
    assert _rows(app) == 1
    # ... and another number (another learner) is not held up by it.
    other = app.test_client()
    assert (
        _post(other, url, action="identify", phone="0905765432", birth_year="1949").status_code
        == 303
    )


def test_the_birth_year_limit_is_per_session(app, client, world, clock):
    """A number stopped at one session identifies at the class's next one."""
    with app.app_context():
        first = build(world)
    app.config["CHECKIN_MAX_FAILURES_PER_PHONE"] = 2
    try:
        for year in (1950, 1951):
            _post(
                app.test_client(),
                f"/c/{first.token}",
                action="identify",
                phone="0905123456",
                birth_year=year,
            )
        assert (
            _post(
                client,
                f"/c/{first.token}",
                action="identify",
                phone="0905123456",
                birth_year="1958",
            ).status_code
            == 429
        )
        with app.app_context():
            from tests.factories import make_session
            from webapp.checkin import services
            from webapp.checkin.occasions import SessionOccasion
            from webapp.scheduling.models import ClassSession, CourseClass
            from webapp.timeutil import utcnow

            course_class = db.session.get(CourseClass, first.class_id)
            start = db.session.get(ClassSession, first.session_id).starts_at + timedelta(hours=3)
            second = make_session(course_class, start)
            point = services.point_for(SessionOccasion(second), now=utcnow())
            db.session.commit()
            token = point.token
        clock.set(utcnow() + timedelta(hours=3))
        assert (
            _post(
                client, f"/c/{token}", action="identify", phone="0905123456", birth_year="1958"
            ).status_code
            == 303
        )
    finally:
        app.config["CHECKIN_MAX_FAILURES_PER_PHONE"] = 5
