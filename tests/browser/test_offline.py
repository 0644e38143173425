"""Weak signal in a real browser (Chromium's offline mode, a 360×740 phone): a trainer opens
the day (today's check-in pages kept on the phone), then the roster, goes offline, marks 10
learners and types a card's code on the scanner, reloads the roster offline (the queue
survives, the marks still say "waiting", not recorded), goes online — exactly 10 + 1 records
appear, each once, with the times they were tapped, even though the first upload's answer is
dropped on its way back. Screenshots in test-artifacts/."""

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, VIEWPORTS, login
from tests.browser.test_mentoring import network  # noqa: F401 (fixture)
from tests.factories import build_world, make_class, make_course, make_person, make_session
from webapp.accounts.models import User
from webapp.checkin.models import Attendance
from webapp.config import HTMX_URL
from webapp.extensions import db
from webapp.people.models import Village
from webapp.scheduling import enrolment
from webapp.timeutil import utcnow

pytestmark = pytest.mark.browser
CODE = "K7M3QX"


@pytest.fixture
def day(app):
    """Today's session of the trainer's class, open for check-in, with 11 learners (the last
    one with a printed card)."""
    with app.app_context():
        base = build_world()
        trainer = db.session.get(User, base.users["trainer"])
        organiser = db.session.get(User, base.users["organiser"])
        v1 = db.session.get(Village, base.village_ids[0])
        course = make_course(base.commune_id, organiser.id)
        course_class = make_class(course, [trainer], capacity=20)
        session = make_session(course_class, utcnow() - timedelta(minutes=5))
        people = []
        for i in range(11):
            person = make_person(v1, f"Học Viên {chr(65 + i)}", 1950 + i)
            enrolment.enrol(actor=organiser, now=utcnow(), course_class=course_class, person=person)
            people.append(person)
        people[-1].learner_code = CODE
        db.session.commit()
        yield {"session_id": session.id, "people": [p.id for p in people]}


def _open_phone(browser, htmx_body, live_server):
    context = browser.new_context(base_url=live_server, locale="vi-VN", **VIEWPORTS["phone"])
    context.route(
        HTMX_URL,
        lambda route: route.fulfill(
            status=200,
            body=htmx_body,
            headers={"Content-Type": "text/javascript", "Access-Control-Allow-Origin": "*"},
        ),
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


@pytest.fixture
def phone(_playwright_browser, _htmx_body, live_server):
    context, page = _open_phone(_playwright_browser, _htmx_body, live_server)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not errors, errors


def _shot(page, label):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"offline-{label}.png", full_page=True)


def _kept(page, path):
    """Wait until the phone keeps a copy of the page (evaluate awaits the Cache API's promise;
    wait_for_function would not)."""
    script = "p => caches.open('lopso-v1').then(c => c.match(p)).then(r => !!r)"
    for _ in range(100):
        if page.evaluate(script, path):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{path} was not kept")


def test_a_trainer_marks_offline_and_everything_arrives_once(app, day, phone):
    page, session_id = phone, day["session_id"]
    roster, scan = f"/sessions/{session_id}/roster", f"/sessions/{session_id}/scan"
    login(page, "trainer")
    page.goto("/today")
    for path in (roster, scan):
        _kept(page, path)
    page.goto(roster)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")

    phone.context.set_offline(True)
    tapped_from = datetime.now(UTC)
    for person_id in day["people"][:10]:
        page.locator(f"#mark-{person_id}-present").click()
        expect(page.locator(f"#person-{person_id} .offline-line")).to_contain_text("Đang chờ gửi")
    expect(page.locator("#offline-status")).to_contain_text("10 đang chờ gửi")
    expect(page.locator("#offline-status")).to_contain_text("Mất mạng")
    # Never shown as recorded: the buttons are not pressed, the words say "waiting".
    first = day["people"][0]
    expect(page.locator(f"#mark-{first}-present")).to_have_attribute("aria-pressed", "false")
    _shot(page, "01-roster-offline")

    page.goto(scan)  # the phone's copy
    page.get_by_label(re.compile("Mã học viên|Learner code")).fill(CODE)
    page.get_by_role("button", name="Điểm danh", exact=True).click()
    expect(page.locator("#offline-codes")).to_contain_text("đang chờ gửi")
    _shot(page, "02-scan-offline")

    page.goto(roster)  # reloaded offline: the queue survives
    expect(page.locator("#offline-status")).to_contain_text("11 đang chờ gửi")
    expect(page.locator(".offline-line[data-state=waiting]")).to_have_count(10)
    tapped_until = datetime.now(UTC)
    with app.app_context():
        assert db.session.query(Attendance).count() == 0  # nothing reached the server

    # The first upload reaches the server but its answer is lost; the phone sends again.
    dropped = []

    def drop_first(route):
        if not dropped:
            dropped.append(route.fetch())  # the server applies it…
            route.abort()  # …and the phone never hears back
        else:
            route.continue_()

    page.route("**/offline/sync", drop_first)
    phone.context.set_offline(False)
    expect(page.locator("#offline-status")).to_contain_text("11 đã gửi", timeout=40_000)
    assert dropped and dropped[0].status == 200
    expect(page.locator(".offline-line[data-state=sent]")).to_have_count(10)
    expect(page.locator(f"#mark-{first}-present")).to_have_attribute("aria-pressed", "true")
    _shot(page, "03-roster-synced")

    with app.app_context():
        rows = db.session.query(Attendance).filter_by(occasion_id=session_id).all()
        assert sorted(r.person_id for r in rows) == sorted(day["people"])  # 10 + 1, once each
        for row in rows:
            assert tapped_from - timedelta(seconds=2) <= row.recorded_at <= tapped_until, row
        assert {r.status for r in rows} <= {"present", "late"}
    time.sleep(0.1)


def test_a_mentor_logs_a_meeting_offline_and_it_arrives_once(app, network, phone):  # noqa: F811
    from webapp.mentoring.models import Meeting

    people = network
    page = phone
    login_mentor(page)
    _kept(page, "/mentor/meeting/new")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    phone.context.set_offline(True)
    page.goto("/mentor/meeting/new")  # the phone's copy
    page.get_by_label("Nguyễn Thị Hoa").check()
    page.get_by_label("Nguyễn Thị Mai").check()
    page.get_by_role("button", name="Lưu buổi gặp").click()
    expect(page.locator("#offline-meetings")).to_contain_text("đang chờ gửi")
    expect(page.locator("#offline-status")).to_contain_text("1 đang chờ gửi")
    _shot(page, "04-meeting-offline")
    with app.app_context():
        assert db.session.query(Meeting).count() == 0
    phone.context.set_offline(False)
    expect(page.locator("#offline-status")).to_contain_text("1 đã gửi", timeout=40_000)
    _shot(page, "05-meeting-synced")
    with app.app_context():
        (meeting,) = db.session.query(Meeting).all()
        attended = {
            a.person_id
            for a in db.session.query(Attendance).filter_by(
                occasion_kind="meeting", occasion_id=meeting.id
            )
        }
        assert attended == {people["hoa"], people["mai"]}


def login_mentor(page):
    page.goto("/auth/login")
    page.get_by_label("Tên đăng nhập").fill("mentor")
    page.get_by_label("Mật khẩu").fill("password-123")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(r"/mentor$"))


def _ready_offline(page, roster):
    page.goto(roster)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.goto(roster)  # now through the worker: kept
    _kept(page, roster)
    page.context.set_offline(True)


def test_two_phones_and_the_learners_own_scan_conflict_as_documented(
    app, day, request, live_server
):
    """docs/offline.md (a) and (c): two phones mark the same learner offline — the first to
    arrive is kept, the second is told who recorded it; the learner's own scan stands against
    a trainer's offline "absent"."""
    browser = request.getfixturevalue("_playwright_browser")
    htmx_body = request.getfixturevalue("_htmx_body")
    session_id = day["session_id"]
    roster = f"/sessions/{session_id}/roster"
    first_person, second_person = day["people"][:2]
    contexts = []
    try:
        trainer_context, trainer = _open_phone(browser, htmx_body, live_server)
        organiser_context, organiser = _open_phone(browser, htmx_body, live_server)
        contexts += [trainer_context, organiser_context]
        login(trainer, "trainer")
        login(organiser, "organiser")
        _ready_offline(trainer, roster)
        _ready_offline(organiser, roster)
        trainer.locator(f"#mark-{first_person}-present").click()
        organiser.locator(f"#mark-{first_person}-present").click()
        organiser.locator(f"#mark-{second_person}-absent").click()
        # Meanwhile the second learner checks in on her own phone (online).
        with app.app_context():
            from webapp.checkin import services
            from webapp.checkin.models import Method
            from webapp.checkin.occasions import SessionOccasion
            from webapp.people.models import Person

            occasion = SessionOccasion.load(session_id)
            services.check_in(
                occasion,
                db.session.get(Person, second_person),
                method=Method.SELF_SCAN,
                now=utcnow(),
            )
            db.session.commit()
        trainer_context.set_offline(False)
        expect(trainer.locator("#offline-status")).to_contain_text("1 đã gửi", timeout=40_000)
        organiser_context.set_offline(False)
        expect(organiser.locator("#offline-status")).to_contain_text("1 bị từ chối", timeout=40_000)
        expect(organiser.locator(f"#person-{first_person} .offline-line")).to_contain_text("Đã có")
        expect(organiser.locator(f"#person-{second_person} .offline-line")).to_contain_text(
            "Không ghi được"
        )
        _shot(organiser, "06-conflicts")
        with app.app_context():
            rows = {
                r.person_id: r
                for r in db.session.query(Attendance).filter_by(occasion_id=session_id)
            }
            assert set(rows) == {first_person, second_person}
            assert rows[first_person].method == "roster"
            assert rows[second_person].method == "self_scan"
            assert rows[second_person].status in ("present", "late")
    finally:
        for context in contexts:
            context.close()
