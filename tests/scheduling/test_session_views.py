"""Session pages through HTTP: one session, a weekly series with preview, edit, cancel."""

import re

import pytest
from sqlalchemy import func, select

from tests.factories import make_person, make_session
from tests.scheduling.sessions_world import _frozen, build_plan, local8, utc  # noqa: F401
from webapp.extensions import db
from webapp.people.models import Village
from webapp.scheduling.models import ClassSession, CourseClass, Enrolment, Venue


@pytest.fixture
def plan(app, world):
    with app.app_context():
        return build_plan(world)


def sessions(app) -> list[ClassSession]:
    with app.app_context():
        found = db.session.scalars(select(ClassSession).order_by(ClassSession.starts_at)).all()
        db.session.expunge_all()
        return found


def count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ClassSession))


def existing_session(app, plan, start, class_id=None, venue=True) -> int:
    with app.app_context():
        course_class = db.session.get(CourseClass, class_id or plan.class_id)
        venue_obj = db.session.get(Venue, plan.venue_id) if venue else None
        session = make_session(course_class, start, venue=venue_obj, topic="Cài VNeID")
        db.session.commit()
        return session.id


ONE = {
    "day": "01/12/2025",
    "start": "08:00",
    "end": "10:00",
    "topic": "Gọi video Zalo",
    "note": "Mang theo điện thoại",
}


# --- one session ------------------------------------------------------------------------------


def test_add_one_session_in_vietnam_time(actions, plan, app):
    actions.login("trainer")
    page = actions.client.get(f"/classes/{plan.class_id}/sessions/new").get_data(as_text=True)
    assert 'name="day"' in page and 'name="start"' in page and 'name="override"' not in page
    response = actions.post(
        f"/classes/{plan.class_id}/sessions/new", ONE | {"venue_id": plan.venue_id}
    )
    [saved] = sessions(app)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/sessions/{saved.id}")
    assert (saved.starts_at, saved.ends_at) == (utc(2025, 12, 1, 1), utc(2025, 12, 1, 3))
    assert (saved.venue_id, saved.topic, saved.note) == (
        plan.venue_id,
        "Gọi video Zalo",
        "Mang theo điện thoại",
    )


def test_a_form_with_mistakes_shows_them_and_writes_nothing(actions, plan, app):
    actions.login("trainer")
    response = actions.post(
        f"/classes/{plan.class_id}/sessions/new", {"day": "31/02/2025", "start": "8 giờ", "end": ""}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "error-summary" in html and 'href="#day"' in html and 'href="#start"' in html
    assert count(app) == 0


def test_end_before_start_is_refused(actions, plan, app):
    actions.login("trainer")
    response = actions.post(
        f"/classes/{plan.class_id}/sessions/new", ONE | {"start": "10:00", "end": "8h30"}
    )
    assert response.status_code == 400
    assert 'href="#end"' in response.get_data(as_text=True)
    assert count(app) == 0


def test_a_clash_links_to_the_clashing_session_and_a_trainer_cannot_override(actions, plan, app):
    other = existing_session(app, plan, local8(2025, 12, 1), class_id=plan.class2_id)
    actions.login("trainer")
    response = actions.post(
        f"/classes/{plan.class_id}/sessions/new",
        ONE | {"venue_id": plan.venue_id, "override": "y", "override_note": "Tôi muốn"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert f'href="/sessions/{other}"' in html
    assert 'name="override"' not in html
    assert count(app) == 1


def test_an_organiser_overrides_a_clash_with_a_reason(actions, plan, app, world):
    other = existing_session(app, plan, local8(2025, 12, 1), class_id=plan.class2_id)
    actions.login("organiser")
    path = f"/classes/{plan.class_id}/sessions/new"
    first = actions.post(path, ONE | {"venue_id": plan.venue_id})
    assert first.status_code == 409
    html = first.get_data(as_text=True)
    assert 'name="override"' in html and f'href="/sessions/{other}"' in html
    no_reason = actions.post(path, ONE | {"venue_id": plan.venue_id, "override": "y"})
    assert no_reason.status_code == 400 and 'href="#override_note"' in no_reason.get_data(
        as_text=True
    )
    assert count(app) == 1
    saved = actions.post(
        path, ONE | {"venue_id": plan.venue_id, "override": "y", "override_note": "Hai nhóm nhỏ"}
    )
    assert saved.status_code == 302
    new = next(s for s in sessions(app) if s.id != other)
    assert (new.clash_override_by_id, new.clash_override_note) == (
        world.users["organiser"],
        "Hai nhóm nhỏ",
    )
    detail = actions.client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Hai nhóm nhỏ" in detail


def test_who_may_plan_sessions(actions, plan, app):
    actions.login("trainer2")
    assert actions.client.get(f"/classes/{plan.class_id}/sessions/new").status_code == 403
    actions.logout()
    actions.login("other_organiser")
    assert actions.client.get(f"/classes/{plan.class_id}/sessions/new").status_code == 404
    actions.logout()
    actions.login("mentor")
    assert actions.client.get(f"/classes/{plan.class_id}/sessions/series").status_code == 403
    assert actions.client.get("/classes/9999/sessions/new").status_code == 403  # role first


# --- a weekly series --------------------------------------------------------------------------

RULE = {
    "weekdays": ["1", "3"],
    "start": "08:00",
    "end": "10:00",
    "first_day": "01/12/2025",
    "weeks": "2",
    "skip": "",
    "topic": "Kỹ năng số",
}


def test_preview_lists_the_sessions_and_writes_nothing(actions, plan, app):
    actions.login("trainer")
    page = actions.client.get(f"/classes/{plan.class_id}/sessions/series").get_data(as_text=True)
    assert page.count('type="checkbox"') == 7
    response = actions.post(
        f"/classes/{plan.class_id}/sessions/series", RULE | {"action": "preview", "skip": "04/12"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.findall(r"\d\d/12/2025, 08:00–10:00", html) == [
        "02/12/2025, 08:00–10:00",
        "09/12/2025, 08:00–10:00",
        "11/12/2025, 08:00–10:00",
    ]
    assert "04/12/2025, 08:00" not in html
    assert count(app) == 0


def test_preview_says_which_days_it_left_out_and_which_were_no_session_days(actions, plan):
    # Tuesdays and Thursdays from Monday 01/12/2025 for two weeks: 04/12 is a Thursday of the
    # series, 03/12 a Wednesday and 30/12 after its end.
    actions.login("trainer")
    response = actions.post(
        f"/classes/{plan.class_id}/sessions/series",
        RULE | {"action": "preview", "skip": "30/12, 04/12 03/12"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    skipped = re.findall(r'<p class="[^"]*skipped-days">(.*?)</p>', html, re.S)
    assert len(skipped) == 2, skipped
    assert "Thứ Năm 04/12/2025" in skipped[0] and "03/12" not in skipped[0]
    assert "Thứ Tư 03/12/2025, Thứ Ba 30/12/2025" in skipped[1]


def test_preview_marks_clashes_with_links(actions, plan, app):
    other = existing_session(app, plan, utc(2025, 12, 9, 2), class_id=plan.class2_id)
    actions.login("trainer")
    html = actions.post(
        f"/classes/{plan.class_id}/sessions/series",
        RULE | {"action": "preview", "venue_id": plan.venue_id},
    ).get_data(as_text=True)
    assert html.count('class="is-clash"') == 1
    assert f'href="/sessions/{other}"' in html
    assert "09/12" in html[html.index("clash-note") :]  # the days to skip are suggested
    assert count(app) == 1


def test_preview_with_htmx_answers_with_the_fragment(actions, plan):
    actions.login("trainer")
    response = actions.post(
        f"/classes/{plan.class_id}/sessions/series",
        RULE | {"action": "preview"},
        headers={"HX-Request": "true"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "02/12/2025, 08:00–10:00" in html and "HX-Request" in response.headers["Vary"]
    # a mistake: still 200 for htmx (htmx does not swap 4xx), with the error summary
    wrong = actions.post(
        f"/classes/{plan.class_id}/sessions/series",
        RULE | {"action": "preview", "weekdays": []},
        headers={"HX-Request": "true"},
    )
    assert wrong.status_code == 200 and "error-summary" in wrong.get_data(as_text=True)


def test_rule_mistakes_are_shown_without_javascript(actions, plan, app):
    actions.login("trainer")
    path = f"/classes/{plan.class_id}/sessions/series"
    no_day = actions.post(path, {k: v for k, v in RULE.items() if k != "weekdays"})
    assert no_day.status_code == 400 and 'href="#weekdays"' in no_day.get_data(as_text=True)
    bad_skip = actions.post(path, RULE | {"skip": "02/09, 31/02"})
    assert bad_skip.status_code == 400 and "31/02" in bad_skip.get_data(as_text=True)
    both = actions.post(path, RULE | {"until": "31/12/2025"})
    assert both.status_code == 400
    assert count(app) == 0


def test_save_expands_the_rule_again_and_writes_every_session(actions, plan, app):
    actions.login("trainer")
    response = actions.post(
        f"/classes/{plan.class_id}/sessions/series",
        RULE | {"action": "save", "venue_id": plan.venue_id, "skip": "09/12"},
    )
    assert response.status_code == 302
    saved = sessions(app)
    assert [s.starts_at for s in saved] == [
        local8(2025, 12, 2),
        local8(2025, 12, 4),
        local8(2025, 12, 11),
    ]
    assert {(s.class_id, s.venue_id, s.topic) for s in saved} == {
        (plan.class_id, plan.venue_id, "Kỹ năng số")
    }


def test_save_with_a_clash_saves_nothing_and_shows_the_clash(actions, plan, app):
    other = existing_session(app, plan, utc(2025, 12, 9, 2), class_id=plan.class2_id)
    actions.login("trainer")
    response = actions.post(
        f"/classes/{plan.class_id}/sessions/series",
        RULE | {"action": "save", "venue_id": plan.venue_id},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert f'href="/sessions/{other}"' in html and 'class="is-clash"' in html
    assert count(app) == 1


def test_organiser_saves_a_series_over_a_clash(actions, plan, app, world):
    existing_session(app, plan, utc(2025, 12, 9, 2), class_id=plan.class2_id)
    actions.login("organiser")
    response = actions.post(
        f"/classes/{plan.class_id}/sessions/series",
        RULE
        | {
            "action": "save",
            "venue_id": plan.venue_id,
            "override": "y",
            "override_note": "Đã thống nhất",
        },
    )
    assert response.status_code == 302
    new = [s for s in sessions(app) if s.class_id == plan.class_id]
    assert len(new) == 4
    assert {s.clash_override_by_id for s in new} == {world.users["organiser"]}


# --- the session page, edit, cancel -----------------------------------------------------------


def test_session_page_shows_class_time_venue_topic_and_enrolled(actions, plan, app, world, frozen):
    session_id = existing_session(app, plan, local8(2025, 12, 1))
    with app.app_context():
        village = db.session.get(Village, world.village_ids[0])
        for name in ("Nguyễn Thị Lan", "Trần Văn Hải"):
            person = make_person(village, name)
            db.session.add(
                Enrolment(
                    class_id=plan.class_id, person_id=person.id, status="enrolled", since=frozen
                )
            )
        db.session.commit()
    actions.login("trainer")
    html = actions.client.get(f"/sessions/{session_id}").get_data(as_text=True)
    for text in (
        "Lớp cao tuổi Thôn 1",
        "01/12/2025",
        "08:00–10:00",
        "Nhà văn hóa Thôn 1",
        "Cài VNeID",
        "2 / 10 chỗ",
        f"/sessions/{session_id}/cancel",
    ):
        assert text in html, text
    actions.logout()
    actions.login("trainer2")  # may look, may not change
    html = actions.client.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "Lớp cao tuổi Thôn 1" in html and f"/sessions/{session_id}/cancel" not in html
    assert actions.client.get(f"/sessions/{session_id}/cancel").status_code == 403


def test_edit_moves_the_session(actions, plan, app):
    session_id = existing_session(app, plan, local8(2025, 12, 1))
    actions.login("trainer")
    form = actions.client.get(f"/sessions/{session_id}/edit").get_data(as_text=True)
    assert 'value="01/12/2025"' in form and 'value="08:00"' in form
    response = actions.post(
        f"/sessions/{session_id}/edit",
        {
            "day": "02/12/2025",
            "start": "14:00",
            "end": "16:00",
            "venue_id": "",
            "topic": "Chuyển khoản",
        },
    )
    assert response.status_code == 302
    [moved] = sessions(app)
    assert (moved.starts_at, moved.venue_id, moved.topic) == (
        utc(2025, 12, 2, 7),
        None,
        "Chuyển khoản",
    )


def test_cancel_needs_a_reason_and_the_session_stays_visible(actions, plan, app, frozen):
    session_id = existing_session(app, plan, local8(2025, 12, 1))
    actions.login("trainer")
    empty = actions.post(f"/sessions/{session_id}/cancel", {"reason": "   "})
    assert empty.status_code == 422 and "error-summary" in empty.get_data(as_text=True)
    assert sessions(app)[0].cancelled_at is None
    done = actions.post(f"/sessions/{session_id}/cancel", {"reason": "Mưa lũ, đường ngập"})
    assert done.status_code == 302
    [cancelled] = sessions(app)
    assert cancelled.cancelled_at is not None and cancelled.cancel_reason == "Mưa lũ, đường ngập"
    html = actions.client.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "status-banner is-cancelled" in html and "Mưa lũ, đường ngập" in html
    assert f"/sessions/{session_id}/edit" not in html
    week = actions.client.get("/calendar?week=2025-12-01").get_data(as_text=True)
    assert f'/sessions/{session_id}"' in week and "is-cancelled" in week
    # cancelling twice or editing a cancelled session sends back to the session page
    again = actions.client.get(f"/sessions/{session_id}/cancel")
    assert again.status_code == 302
    assert actions.client.get(f"/sessions/{session_id}/edit").status_code == 302
