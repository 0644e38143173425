"""The trainer's live page, the roster (with and without htmx), join requests, corrections."""

import pytest
from PIL import Image  # noqa: F401  (pillow comes with qrcode[pil])

from tests.checkin.checkin_world import build
from webapp.checkin.models import Attendance, AttendanceChange, JoinRequest
from webapp.extensions import db
from webapp.scheduling.models import Enrolment


@pytest.fixture
def cw(app, world):
    with app.app_context():
        return build(world)


def _record(app, person_id):
    with app.app_context():
        return db.session.query(Attendance).filter_by(person_id=person_id).one_or_none()


def test_live_page_shows_qr_code_and_lists(actions, client, cw):
    actions.login("trainer")
    page = client.get(f"/sessions/{cw.session_id}/live")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html and f"/c/{cw.token}" in html
    assert f"{cw.code[:3]} {cw.code[3:]}" in html
    assert "Đặng Văn Ướt" in html
    panel = client.get(f"/sessions/{cw.session_id}/live/panel", headers={"HX-Request": "true"})
    assert 'data-testid="live-count">0<' in panel.get_data(as_text=True)


def test_other_trainer_and_mentor_are_refused(actions, client, cw, app, world):
    actions.login("mentor")
    assert client.get(f"/sessions/{cw.session_id}/live").status_code == 403
    actions.logout()
    actions.login("other_organiser")
    assert client.get(f"/sessions/{cw.session_id}/live").status_code == 404


def test_roster_tap_without_javascript(actions, client, cw, app):
    actions.login("trainer")
    person_id = cw.learners["Y Blích"]
    roster = f"/sessions/{cw.session_id}/roster"
    response = actions.post(
        f"/sessions/{cw.session_id}/roster/{person_id}", {"status": "present"}, token_from=roster
    )
    assert response.status_code == 302
    assert _record(app, person_id).status == "present"
    # Changed afterwards: a correction, kept with who and when.
    actions.post(
        f"/sessions/{cw.session_id}/roster/{person_id}", {"status": "absent"}, token_from=roster
    )
    record = _record(app, person_id)
    assert record.status == "absent"
    with app.app_context():
        change = db.session.query(AttendanceChange).one()
        assert (change.old_status, change.new_status) == ("present", "absent")
        assert change.changed_by_id is not None


def test_overruling_the_learners_phone_needs_a_reason(actions, client, cw, app):
    url = f"/c/{cw.token}"
    learner = app.test_client()
    from tests.conftest import Actions

    Actions(learner).post(
        url, {"action": "identify", "phone": "0905123456", "birth_year": "1958"}, token_from=url
    )
    person_id = cw.learners["Nguyễn Thị Hồng Nhung"]
    assert _record(app, person_id).method == "self_scan"
    actions.login("trainer")
    roster = f"/sessions/{cw.session_id}/roster"
    mark = f"/sessions/{cw.session_id}/roster/{person_id}"
    response = actions.post(
        mark, {"status": "absent"}, token_from=roster, headers={"HX-Request": "true"}
    )
    assert "Hãy ghi lý do sửa điểm danh." in response.get_data(as_text=True)
    assert _record(app, person_id).status == "present"
    actions.post(
        mark, {"status": "absent", "reason": "Con gái quét hộ, bà không đến"}, token_from=roster
    )
    assert _record(app, person_id).status == "absent"
    with app.app_context():
        change = db.session.query(AttendanceChange).one()
        assert change.reason == "Con gái quét hộ, bà không đến"


def test_paper_sheet_entries_are_marked_as_such(actions, client, cw, app):
    actions.login("trainer")
    person_id = cw.learners["Y Blích"]
    roster = f"/sessions/{cw.session_id}/roster?source=paper"
    assert 'name="source" value="paper"' in client.get(roster).get_data(as_text=True)
    actions.post(
        f"/sessions/{cw.session_id}/roster/{person_id}",
        {"status": "present", "source": "paper"},
        token_from=roster,
    )
    assert _record(app, person_id).method == "paper"


def test_crafted_ids_are_refused(actions, client, cw, app, world):
    """Another class's trainer cannot touch this session's records, whatever the ids."""
    from tests.factories import make_class, make_course, make_user
    from webapp.people.models import Commune

    actions.login("trainer")
    roster = f"/sessions/{cw.session_id}/roster"
    actions.post(
        f"/sessions/{cw.session_id}/roster/{cw.learners['Y Blích']}",
        {"status": "present"},
        token_from=roster,
    )
    record_id = _record(app, cw.learners["Y Blích"]).id
    actions.logout()
    with app.app_context():
        commune = db.session.get(Commune, world.commune_id)
        other = make_user("gv.khac", "trainer", commune=commune)
        make_class(make_course(world.commune_id, other.id), [other], name="Lớp khác")
        db.session.commit()
    actions.login("gv.khac")
    token_page = "/today"
    assert (
        actions.post(
            f"/sessions/{cw.session_id}/roster/{cw.learners['Y Blích']}",
            {"status": "absent"},
            token_from=token_page,
        ).status_code
        == 403
    )
    assert (
        actions.post(
            f"/attendance/{record_id}/correct",
            {"status": "absent", "reason": "x"},
            token_from=token_page,
        ).status_code
        == 403
    )
    assert client.get(f"/sessions/{cw.session_id}/live").status_code == 403
    assert _record(app, cw.learners["Y Blích"]).status == "present"


def test_roster_tap_with_htmx_returns_the_row(actions, client, cw, app):
    actions.login("trainer")
    person_id = cw.learners["Đặng Văn Ướt"]
    response = actions.post(
        f"/sessions/{cw.session_id}/roster/{person_id}",
        {"status": "late"},
        token_from=f"/sessions/{cw.session_id}/roster",
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith(f'<tr id="person-{person_id}"')
    assert f'id="mark-{person_id}-late" class="status-late" aria-pressed="true"' in html


def test_correction_needs_a_reason(actions, client, cw, app):
    actions.login("trainer")
    person_id = cw.learners["Y Blích"]
    roster = f"/sessions/{cw.session_id}/roster"
    actions.post(
        f"/sessions/{cw.session_id}/roster/{person_id}", {"status": "present"}, token_from=roster
    )
    record_id = _record(app, person_id).id
    url = f"/attendance/{record_id}/correct"
    response = actions.post(url, {"status": "excused", "reason": ""}, token_from=url)
    assert response.status_code == 422
    assert _record(app, person_id).status == "present"
    response = actions.post(url, {"status": "excused", "reason": "Ốm, có giấy"}, token_from=url)
    assert response.status_code == 302
    assert _record(app, person_id).status == "excused"
    with app.app_context():
        change = db.session.query(AttendanceChange).one()
        assert (change.old_status, change.new_status, change.reason) == (
            "present",
            "excused",
            "Ốm, có giấy",
        )
    assert "Ốm, có giấy" in client.get(url).get_data(as_text=True)


def test_join_request_approved_on_live_page(actions, client, cw, app):
    with app.app_context():
        from webapp.checkin import services
        from webapp.checkin.occasions import SessionOccasion
        from webapp.people.models import Person
        from webapp.scheduling.models import ClassSession
        from webapp.timeutil import utcnow

        occasion = SessionOccasion(db.session.get(ClassSession, cw.session_id))
        services.request_join(
            occasion, db.session.get(Person, cw.outsider_id), now=utcnow(), device_key=None
        )
        db.session.commit()
        join_id = db.session.query(JoinRequest.id).scalar()
    actions.login("trainer")
    live = f"/sessions/{cw.session_id}/live/panel"
    assert "Lê Văn Tám" in client.get(live).get_data(as_text=True)
    response = actions.post(
        f"/sessions/{cw.session_id}/joins/{join_id}",
        {"decision": "approve"},
        token_from=f"/sessions/{cw.session_id}/roster",
    )
    assert response.status_code == 302
    with app.app_context():
        enrolment = db.session.query(Enrolment).filter_by(person_id=cw.outsider_id).one()
        assert enrolment.status == "enrolled"
    assert _record(app, cw.outsider_id).status in ("present", "late")


# --- issue 12 (4): phones linked at this session, to confirm or undo ---------------------------


def _identify(app, url, phone, year):
    from tests.conftest import Actions

    phone_client = app.test_client()
    response = Actions(phone_client).post(
        url, {"action": "identify", "phone": phone, "birth_year": year}, token_from=url
    )
    assert response.status_code == 303
    return phone_client


def _device(app, person_id):
    from webapp.checkin.models import Device

    with app.app_context():
        return db.session.query(Device).filter_by(person_id=person_id).one()


def test_new_links_are_confirmed_or_undone_without_javascript(actions, client, cw, app):
    nhung, uot = cw.learners["Nguyễn Thị Hồng Nhung"], cw.learners["Đặng Văn Ướt"]
    _identify(app, f"/c/{cw.token}", "0905123456", "1958")
    _identify(app, f"/c/{cw.token}", "0905765432", "1949")
    actions.login("trainer")
    live = f"/sessions/{cw.session_id}/live"
    html = client.get(live).get_data(as_text=True)
    assert 'data-testid="new-links"' in html and "số điện thoại và năm sinh" in html
    first, second = _device(app, nhung), _device(app, uot)
    links = f"/sessions/{cw.session_id}/links"
    response = actions.post(f"{links}/{first.id}/confirm", {}, token_from=live)
    assert response.status_code == 302
    assert _device(app, nhung).confirmed_at is not None
    # Undo and mark absent needs a reason: refused, nothing changed.
    actions.post(f"{links}/{second.id}/undo", {"absent": "1"}, token_from=live)
    assert _device(app, uot).revoked_at is None and _record(app, uot).status == "present"
    response = actions.post(
        f"{links}/{second.id}/undo",
        {"absent": "1", "reason": "Không\x00 phải\x07 máy\x1b của\u202e ông"},
        token_from=live,
    )
    assert response.status_code == 302
    assert _device(app, uot).revoked_at is not None
    record = _record(app, uot)
    assert record.status == "absent"
    with app.app_context():
        assert db.session.query(AttendanceChange).one().reason == "Không phải máy của ông"
    html = client.get(live).get_data(as_text=True)
    assert 'data-testid="new-links"' not in html  # nothing left to decide
    # An undo without marking absent keeps the record; a link of another session is 404.
    assert actions.post(f"{links}/{second.id}/confirm", {}, token_from=live).status_code == 302
    assert _device(app, uot).confirmed_at is None  # undone links stay undone
    assert (
        actions.post(
            f"/sessions/{cw.session_id + 999}/links/{first.id}/confirm", {}, token_from=live
        ).status_code
        == 404
    )


def test_new_links_with_htmx_answer_the_panel(actions, client, cw, app):
    nhung = cw.learners["Nguyễn Thị Hồng Nhung"]
    _identify(app, f"/c/{cw.token}", "0905123456", "1958")
    actions.login("trainer")
    live = f"/sessions/{cw.session_id}/live"
    device = _device(app, nhung)
    response = actions.post(
        f"/sessions/{cw.session_id}/links/{device.id}/undo",
        {},
        token_from=live,
        headers={"HX-Request": "true"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="live-panel"' in html and "<html" not in html
    assert _device(app, nhung).revoked_at is not None
    assert _record(app, nhung).status == "present"  # not asked to mark absent


def test_only_the_sessions_runners_decide_links(actions, client, cw, app):
    _identify(app, f"/c/{cw.token}", "0905123456", "1958")
    device = _device(app, cw.learners["Nguyễn Thị Hồng Nhung"])
    actions.login("mentor")
    response = actions.post(
        f"/sessions/{cw.session_id}/links/{device.id}/confirm", {}, token_from="/"
    )
    assert response.status_code in (403, 404)
    assert _device(app, device.person_id).confirmed_at is None


def _self_scan(app, cw, name: str) -> int:
    """``name`` checks in on their own phone (the roster then needs a reason to overrule it)."""
    from webapp.checkin import services
    from webapp.checkin.models import Method
    from webapp.checkin.occasions import SessionOccasion
    from webapp.people.models import Person
    from webapp.scheduling.models import ClassSession
    from webapp.timeutil import utcnow

    with app.app_context():
        occasion = SessionOccasion(db.session.get(ClassSession, cw.session_id))
        person = db.session.get(Person, cw.learners[name])
        services.check_in(occasion, person, method=Method.SELF_SCAN, now=utcnow())
        db.session.commit()
        return person.id


def _row(html: str, person_id: int) -> str:
    start = html.index(f'<tr id="person-{person_id}"')
    return html[start : html.index("</tr>", start)]


def test_the_roster_asks_for_a_reason_only_in_the_row_that_needs_one(actions, client, cw, app):
    """No reason field until a change needs one; without JavaScript the refused tap comes back
    as the roster (the rule's 400, no redirect) with the message and the field in the person's
    row, and in a summary at the top; the form's address takes the browser back to the row."""
    person_id = _self_scan(app, cw, "Nguyễn Thị Hồng Nhung")
    actions.login("trainer")
    roster = f"/sessions/{cw.session_id}/roster"
    html = client.get(roster).get_data(as_text=True)
    assert 'name="reason"' not in html
    assert f'action="{roster}/{person_id}#person-{person_id}"' in html
    response = actions.post(f"{roster}/{person_id}", {"status": "absent"}, token_from=roster)
    assert response.status_code == 400  # the rule's status, not a redirect
    html = response.get_data(as_text=True)
    row = _row(html, person_id)
    assert 'role="alert"' in row and "Hãy ghi lý do sửa điểm danh." in row
    assert "bấm lại “Vắng”" in row
    assert f'id="reason-{person_id}"' in row and 'aria-invalid="true"' in row
    assert html.count('name="reason"') == 1  # that row only
    summary = html[html.index('class="error-summary"') : html.index("<h1>")]
    assert f'href="#reason-{person_id}"' in summary
    assert "Nguyễn Thị Hồng Nhung: Hãy ghi lý do sửa điểm danh." in summary
    assert 'class="flash' not in html  # not a message at the top of the page only
    assert _record(app, person_id).status == "present"
    # The second step: the reason, and the same tap.
    done = actions.post(
        f"{roster}/{person_id}",
        {"status": "absent", "reason": "Con gái quét hộ"},
        token_from=roster,
    )
    assert done.status_code == 302 and done.headers["Location"].endswith(f"#person-{person_id}")
    assert _record(app, person_id).status == "absent"


def test_live_lists_and_roster_name_people_with_birth_year_and_village(actions, client, cw, app):
    """Each person with birth year and village (templates/_people.html), in the same number
    of statements for 3 learners as for 13: villages are loaded with the lists."""
    from tests.factories import make_person
    from tests.sql import statements
    from webapp.checkin import services
    from webapp.checkin.models import Method
    from webapp.checkin.occasions import SessionOccasion
    from webapp.people.models import Village
    from webapp.scheduling.models import ClassSession, CourseClass
    from webapp.timeutil import utcnow

    _self_scan(app, cw, "Đặng Văn Ướt")
    actions.login("trainer")
    live = f"/sessions/{cw.session_id}/live"
    pages = (live, f"{live}/panel", f"/sessions/{cw.session_id}/roster")

    def count(path: str) -> tuple[int, str]:
        client.get(path)  # codes given, check-in point made: not what is counted
        with statements(app) as seen:
            html = client.get(path).get_data(as_text=True)
        return len(seen), html

    before = {path: count(path) for path in pages}
    for path, (_n, html) in before.items():
        assert '<span class="person-name">Đặng Văn Ướt</span>' in html, path
        assert "1949 · Thôn 1" in html, path
    with app.app_context():
        course_class = db.session.get(CourseClass, cw.class_id)
        occasion = SessionOccasion(db.session.get(ClassSession, cw.session_id))
        villages = db.session.query(Village).filter_by(commune_id=course_class.commune_id).all()
        for i in range(10):  # half of them checked in on their phones: records on the lists
            person = make_person(villages[i % len(villages)], f"Người Thứ {i}", 1950 + i)
            db.session.add(
                Enrolment(
                    course_class=course_class,
                    person=person,
                    status="enrolled",
                    since=person.created_at,
                )
            )
            if i % 2:
                db.session.flush()
                services.check_in(occasion, person, method=Method.SELF_SCAN, now=utcnow())
        db.session.commit()
    for path in pages:
        n, html = count(path)
        assert n == before[path][0], (path, n, before[path][0])
        assert "Người Thứ 9" in html and "1959 · " in html
