"""A staff phone's offline queue (docs/offline.md): each action recorded once by its nonce,
at its own time, through the same services and with the same refusals as online; the three
conflict rules; a mentor's meeting; the endpoints' roles, CSRF and limits."""

import json
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.checkin.test_services import run_together
from tests.factories import (
    NOW,
    make_class,
    make_course,
    make_household,
    make_person,
    make_session,
    make_user,
)
from tests.mentoring.conftest import mw  # noqa: F401 (the mentoring world)
from webapp.accounts.models import User
from webapp.checkin import offline, phones, services
from webapp.checkin.models import Attendance, AttendanceChange, Method, OfflineAction, Status
from webapp.checkin.occasions import SessionOccasion
from webapp.extensions import db
from webapp.learning.framework import seed_framework
from webapp.mentoring import services as mentoring
from webapp.mentoring.models import Meeting
from webapp.people.models import Commune, Village
from webapp.permissions import Role
from webapp.scheduling import enrolment as enrolments
from webapp.scheduling.models import ClassSession
from webapp.timeutil import to_local

MINUTE = timedelta(minutes=1)
LATER = NOW + timedelta(hours=3)  # the phone is online again after the session


@pytest.fixture
def ctx(app, world):
    """Session 03:00-05:00 UTC (10:00-12:00 in Vietnam; window 02:30-05:30, late from 03:15)
    run by ``trainer`` and ``trainer2``; An and Bình enrolled, Cúc not; ``trainer3`` of the
    same commune runs another class."""
    with app.app_context():
        trainer = db.session.get(User, world.users["trainer"])
        commune = db.session.get(Commune, world.commune_id)
        v1 = db.session.get(Village, world.village_ids[0])
        trainer2 = make_user("trainer2", Role.TRAINER, commune)
        trainer3 = make_user("trainer3", Role.TRAINER, commune)
        course_class = make_class(make_course(world.commune_id, trainer.id), [trainer, trainer2])
        session = make_session(course_class, NOW)
        an = make_person(v1, "Nguyễn Văn An", 1958)
        binh = make_person(v1, "Trần Thị Bình", 1962)
        cuc = make_person(v1, "Lê Thị Cúc", 1960)
        for person in (an, binh):
            enrolments.enrol(actor=trainer, now=NOW, course_class=course_class, person=person)
        phones.ensure_learner_codes([an, binh, cuc])
        db.session.commit()
        yield {
            "trainer": trainer,
            "trainer2": trainer2,
            "trainer3": trainer3,
            "other_organiser": db.session.get(User, world.users["other_organiser"]),
            "session": session,
            "occasion": SessionOccasion(session),
            "an": an,
            "binh": binh,
            "cuc": cuc,
        }
        db.session.rollback()


def act(kind: str, at, **fields) -> dict:
    return {"nonce": secrets.token_hex(16), "kind": kind, "at": at.isoformat(), **fields}


def tap(ctx, person, status, at) -> dict:
    return act("mark", at, session_id=ctx["session"].id, person_id=person.id, status=status)


def sync(ctx, actions, actor="trainer", now=LATER) -> list[dict]:
    results = offline.sync(actions, actor=ctx[actor], now=now)
    db.session.commit()
    return results


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def hhmm(moment) -> str:
    return to_local(moment).strftime("%H:%M")


def record_of(ctx, person) -> Attendance:
    db.session.expire_all()
    return services.record_of(ctx["occasion"], person)


# --- once, by the nonce --------------------------------------------------------------------------


def test_a_batch_sent_twice_records_each_action_once(ctx):
    batch = [
        tap(ctx, ctx["an"], "present", NOW + 5 * MINUTE),
        tap(ctx, ctx["binh"], "absent", NOW + 6 * MINUTE),
    ]
    first = sync(ctx, batch)
    assert [(r["code"], r["ok"], r["status"]) for r in first] == [
        ("recorded", True, "present"),
        ("recorded", True, "absent"),
    ]
    assert first[0]["person"] == "Nguyễn Văn An" and first[0]["nonce"] == batch[0]["nonce"]
    assert first[0]["recorded_at"] == hhmm(NOW + 5 * MINUTE)
    again = sync(ctx, batch, now=LATER + MINUTE)
    assert again == first
    assert count(Attendance) == 2 and count(OfflineAction) == 2 and count(AttendanceChange) == 0


def test_a_retried_upload_after_a_dropped_response_records_nothing_twice(ctx):
    """The first upload committed but its answer never reached the phone; the phone sends the
    same queue again, with one more tap."""
    sent = [tap(ctx, ctx["an"], "present", NOW + 5 * MINUTE)]
    dropped = sync(ctx, sent)
    more = tap(ctx, ctx["binh"], "excused", NOW + 7 * MINUTE)
    retried = sync(ctx, [*sent, more], now=LATER + 10 * MINUTE)
    assert retried[0] == dropped[0]
    assert retried[1]["code"] == "recorded" and retried[1]["status"] == "excused"
    assert count(Attendance) == 2 and count(OfflineAction) == 2


class SameUpload:
    """One upload of the same action, in its own thread and session."""

    def __init__(self, user_id: int, action: dict):
        self.user_id, self.action = user_id, action

    def prepare(self):
        return db.session.get(User, self.user_id)

    def run(self, actor):
        return offline.sync([dict(self.action)], actor=actor, now=LATER)[0]


def test_the_same_nonce_in_uploads_at_the_same_moment_is_recorded_once(app, ctx):
    action = tap(ctx, ctx["an"], "present", NOW + 5 * MINUTE)
    results = run_together(app, SameUpload(ctx["trainer"].id, action), n=4)
    db.session.expire_all()
    assert count(OfflineAction) == 1 and count(Attendance) == 1 and count(AttendanceChange) == 0
    assert {(r["code"], r["ok"], r["recorded_at"]) for r in results} == {
        ("recorded", True, hhmm(NOW + 5 * MINUTE))
    }


def test_one_bad_action_does_not_stop_the_others(ctx):
    results = sync(
        ctx,
        [
            {"nonce": "short", "kind": "mark"},
            act("teleport", NOW),
            tap(ctx, ctx["an"], "maybe", NOW),
            {**tap(ctx, ctx["an"], "present", NOW), "at": "yesterday"},
            {**tap(ctx, ctx["an"], "present", NOW), "at": "2025-11-25T03:00:00"},  # no offset
            tap(ctx, ctx["an"], "present", NOW + 5 * MINUTE),
        ],
    )
    assert [r["code"] for r in results] == ["invalid"] * 5 + ["recorded"]
    assert results[0]["nonce"] is None
    assert count(OfflineAction) == 5  # every action with a nonce is kept with its answer


# --- times from the phone ------------------------------------------------------------------------


def test_lateness_follows_the_time_of_the_tap_not_of_the_upload(ctx):
    results = sync(
        ctx,
        [
            tap(ctx, ctx["an"], "present", NOW + 10 * MINUTE),
            tap(ctx, ctx["binh"], "present", NOW + 20 * MINUTE),  # after the grace time
        ],
    )
    assert [r["status"] for r in results] == ["present", "late"]
    assert record_of(ctx, ctx["an"]).recorded_at == NOW + 10 * MINUTE
    assert record_of(ctx, ctx["binh"]).recorded_at == NOW + 20 * MINUTE


def test_a_tap_sent_after_the_window_closed_is_recorded_with_its_own_time(ctx):
    closed = NOW + timedelta(days=1)  # check-in closed at 05:30 yesterday
    results = sync(ctx, [tap(ctx, ctx["an"], "present", NOW + 5 * MINUTE)], now=closed)
    assert results[0]["code"] == "recorded"
    record = record_of(ctx, ctx["an"])
    assert record.recorded_at == NOW + 5 * MINUTE and record.method == Method.ROSTER
    assert record.recorded_by_id == ctx["trainer"].id


def test_a_late_tap_is_late_and_meets_a_presence_as_already_recorded(ctx):
    services.check_in(ctx["occasion"], ctx["binh"], method=Method.SELF_SCAN, now=NOW)
    db.session.commit()
    late, already = sync(
        ctx,
        [tap(ctx, ctx["an"], "late", NOW + 5 * MINUTE), tap(ctx, ctx["binh"], "late", NOW)],
    )
    assert (late["code"], late["status"]) == ("recorded", "late")
    assert (already["code"], already["status"]) == ("already_recorded", "present")


def test_a_queued_absence_keeps_its_own_time(ctx):
    sync(ctx, [tap(ctx, ctx["an"], "absent", NOW + 40 * MINUTE)])
    record = record_of(ctx, ctx["an"])
    assert record.status == Status.ABSENT and record.recorded_at == NOW + 40 * MINUTE


def test_a_learner_code_is_read_as_online(ctx):
    code = ctx["an"].learner_code
    typed = f" {code[:3].lower()}-{code[3:]} "
    results = sync(
        ctx,
        [
            act("code", NOW + 5 * MINUTE, session_id=ctx["session"].id, code=typed),
            act("code", NOW + 6 * MINUTE, session_id=ctx["session"].id, code=f"https://x/p/{code}"),
            act("code", NOW + 7 * MINUTE, session_id=ctx["session"].id, code="NOPE"),
            act("code", NOW, session_id=ctx["session"].id, code=ctx["cuc"].learner_code),
        ],
    )
    assert [r["code"] for r in results] == [
        "recorded",
        "already_recorded",
        "unknown_learner_code",
        "not_enrolled",
    ]
    assert results[0]["person"] == "Nguyễn Văn An"
    assert record_of(ctx, ctx["an"]).method == Method.CODE


def test_too_old_and_clock_ahead(ctx):
    results = sync(
        ctx,
        [
            tap(ctx, ctx["an"], "present", LATER - timedelta(days=8)),
            tap(ctx, ctx["binh"], "present", NOW + timedelta(minutes=90)),
        ],
        now=NOW + 10 * MINUTE,
    )
    assert results[0]["code"] == "too_old" and not results[0]["ok"]
    assert results[1]["code"] == "recorded"
    assert "đồng hồ" in results[1]["message"].lower()  # Vietnamese, and says so
    assert record_of(ctx, ctx["binh"]).recorded_at == NOW + 10 * MINUTE  # the server's time


# --- the same refusals as online ----------------------------------------------------------------


def test_refusals_carry_the_online_codes(ctx):
    ctx["binh"].restricted_at = NOW - timedelta(days=1)  # processing restricted
    db.session.commit()
    results = sync(
        ctx,
        [
            tap(ctx, ctx["cuc"], "present", NOW),
            tap(ctx, ctx["binh"], "present", NOW),
            tap(ctx, ctx["binh"], "absent", NOW),
            tap(ctx, ctx["an"], "present", NOW - timedelta(hours=1)),  # before the window
        ],
    )
    assert [r["code"] for r in results] == [
        "not_enrolled",
        "not_processed",
        "not_processed",
        "window_not_open",
    ]
    assert not any(r["ok"] for r in results)
    assert results[0]["person"] == "Lê Thị Cúc" and "Lê Thị Cúc" in results[0]["message"]
    assert count(Attendance) == 0


def test_a_cancelled_session_refuses(ctx):
    db.session.get(ClassSession, ctx["session"].id).cancelled_at = NOW - timedelta(days=1)
    db.session.commit()
    (result,) = sync(ctx, [tap(ctx, ctx["an"], "present", NOW)])
    assert result["code"] == "session_cancelled"


def test_a_session_the_actor_does_not_run_is_refused(ctx):
    results = sync(ctx, [tap(ctx, ctx["an"], "present", NOW)], actor="trainer3")
    assert results[0]["code"] == "not_allowed"
    results = sync(ctx, [tap(ctx, ctx["an"], "present", NOW)], actor="other_organiser")
    assert results[0]["code"] == "not_found" and results[0]["person"] is None
    assert count(Attendance) == 0


# --- conflicts (docs/offline.md) -----------------------------------------------------------------


def test_rule_a_the_first_phone_to_reach_the_server_is_kept(ctx):
    first = sync(ctx, [tap(ctx, ctx["an"], "present", NOW + 5 * MINUTE)])
    (second,) = sync(ctx, [tap(ctx, ctx["an"], "present", NOW + 2 * MINUTE)], actor="trainer2")
    assert first[0]["code"] == "recorded"
    assert second["code"] == "already_recorded" and second["ok"]
    assert second["recorded_at"] == hhmm(NOW + 5 * MINUTE) and "Trainer" in second["message"]
    record = record_of(ctx, ctx["an"])
    assert record.recorded_at == NOW + 5 * MINUTE and record.recorded_by_id == ctx["trainer"].id
    assert count(AttendanceChange) == 0


def test_rule_b_an_online_correction_stands_over_an_earlier_offline_tap(ctx):
    occasion, an = ctx["occasion"], ctx["an"]
    services.check_in(occasion, an, method=Method.SELF_SCAN, now=NOW)
    services.set_status(
        occasion, an, Status.ABSENT, actor=ctx["trainer2"], now=NOW + 30 * MINUTE, reason="Về sớm"
    )
    db.session.commit()
    (earlier,) = sync(ctx, [tap(ctx, an, "present", NOW + 20 * MINUTE)])
    assert (earlier["code"], earlier["ok"], earlier["status"]) == ("superseded", False, "absent")
    assert db.session.scalar(select(OfflineAction.code)) == "superseded"  # kept, not applied
    assert record_of(ctx, an).status == Status.ABSENT and count(AttendanceChange) == 1
    # made after the correction: a normal change, in the history with its own time
    (later,) = sync(ctx, [tap(ctx, an, "present", NOW + 40 * MINUTE)])
    assert later["code"] == "recorded" and later["status"] == "late"
    changes = record_of(ctx, an).changes
    assert [(c.old_status, c.new_status) for c in changes] == [
        ("present", "absent"),
        ("absent", "late"),
    ]
    assert changes[-1].changed_at == NOW + 40 * MINUTE
    assert changes[-1].changed_by_id == ctx["trainer"].id


def test_rule_c_the_learners_own_scan_stands(ctx):
    occasion, an = ctx["occasion"], ctx["an"]
    services.check_in(occasion, an, method=Method.SELF_SCAN, now=NOW + MINUTE)
    db.session.commit()
    present, absent = sync(
        ctx,
        [tap(ctx, an, "present", NOW + 10 * MINUTE), tap(ctx, an, "absent", NOW + 50 * MINUTE)],
    )
    assert present["code"] == "already_recorded" and present["ok"]
    assert present["recorded_at"] == hhmm(NOW + MINUTE)
    assert absent["code"] == "superseded" and not absent["ok"]
    assert "lý do" in absent["message"]  # correct online, with a reason
    record = record_of(ctx, an)
    assert record.status == Status.PRESENT and record.method == Method.SELF_SCAN
    assert count(AttendanceChange) == 0


def test_a_trainer_may_change_their_own_queued_tap(ctx):
    """The same as online: one's own tap changes without a reason."""
    results = sync(
        ctx,
        [
            tap(ctx, ctx["an"], "present", NOW + 5 * MINUTE),
            tap(ctx, ctx["an"], "absent", NOW + 6 * MINUTE),
        ],
    )
    assert [r["code"] for r in results] == ["recorded", "recorded"]
    assert record_of(ctx, ctx["an"]).status == Status.ABSENT and count(AttendanceChange) == 1


# --- the endpoints -----------------------------------------------------------------------------


def _token(actions) -> str:
    response = actions.client.get("/offline/token")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()["csrf"]


def _post(actions, body, token):
    headers = {"X-CSRFToken": token} if token else {}
    return actions.client.post(
        "/offline/sync", data=json.dumps(body), content_type="application/json", headers=headers
    )


def test_the_sync_endpoint_answers_each_action(app, ctx, actions, clock):
    clock.set(LATER)
    with app.app_context():
        body = {"actions": [tap(ctx, ctx["an"], "present", NOW + 20 * MINUTE)]}
    actions.login("trainer")
    response = actions.client.get("/offline/token")
    assert response.get_json()["now"].startswith(LATER.isoformat()[:16])
    token = _token(actions)
    first = _post(actions, body, token)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    (result,) = first.get_json()["results"]
    assert result["code"] == "recorded" and result["status"] == "late"
    assert result["message"].startswith("Đã ghi")  # Vietnamese by default
    assert first.get_json()["server_time"].startswith(LATER.isoformat()[:16])
    assert _post(actions, body, token).get_json()["results"] == [result]  # retried
    with app.app_context():
        assert count(Attendance) == 1 and count(OfflineAction) == 1


def test_the_sync_needs_the_csrf_header(ctx, actions):
    actions.login("trainer")
    body = {"actions": [tap(ctx, ctx["an"], "present", NOW)]}
    assert _post(actions, body, None).status_code == 400
    assert _post(actions, body, "forged").status_code == 400


def test_too_many_actions_or_no_actions(ctx, actions):
    actions.login("trainer")
    token = _token(actions)
    many = {"actions": [tap(ctx, ctx["an"], "present", NOW)] * (offline.MAX_ACTIONS + 1)}
    response = _post(actions, many, token)
    assert response.status_code == 413 and response.get_json()["error"] == "too_many"
    assert _post(actions, {"actions": "all"}, token).status_code == 400


def test_a_learners_phone_gets_nothing(ctx, actions):
    """Not signed in (a learner's phone): sent to log in; without a token, refused."""
    response = actions.client.get("/offline/token")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    body = {"actions": [tap(ctx, ctx["an"], "present", NOW)]}
    assert _post(actions, body, None).status_code == 400
    token = actions.csrf_token("/auth/login")
    response = _post(actions, body, token)
    assert response.status_code in (302, 401)


# --- a mentor's meeting ------------------------------------------------------------------------


def test_a_mentors_meeting_is_synced_once_with_its_attendance(mw, clock, actions):  # noqa: F811
    seed_framework(NOW)
    clock.set(NOW + timedelta(hours=2))
    household = make_household(mw.v1, "T1-060")
    hoa = mw.villager("Nguyễn Thị Hoa", 1950, household=household)
    mentoring.assign(actor=mw.users["organiser"], now=NOW, mentor=mw.mentors["an"], person=hoa)
    db.session.commit()
    local = to_local(NOW)
    form = {
        "people": [hoa.id],
        "held": "yes",
        "place": "home",
        "day": local.strftime("%d/%m/%Y"),
        "time": local.strftime("%H:%M"),
        "minutes": "60",
        "practised": ["1.1"],
        "note": "Tập gọi video",
    }
    action = act("meeting", NOW + timedelta(hours=1), form=form)
    actions.login("mentor")
    token = _token(actions)
    (first,) = _post(actions, {"actions": [action]}, token).get_json()["results"]
    assert (first["code"], first["ok"], first["recorded_at"]) == ("recorded", True, hhmm(NOW))
    (again,) = _post(actions, {"actions": [action]}, token).get_json()["results"]
    assert again == first
    db.session.expire_all()
    (meeting,) = db.session.scalars(select(Meeting)).all()
    assert meeting.nonce == action["nonce"] and meeting.starts_at == NOW
    attendance = db.session.scalars(
        select(Attendance).where(Attendance.occasion_kind == "meeting")
    ).all()
    assert [(a.person_id, a.status) for a in attendance] == [(hoa.id, Status.PRESENT)]
    bad = act("meeting", NOW, form={**form, "people": [], "place": "moon"})
    (refused,) = _post(actions, {"actions": [bad]}, token).get_json()["results"]
    assert refused["code"] == "invalid" and not refused["ok"]
    assert db.session.scalar(select(func.count(Meeting.id))) == 1


def test_a_trainer_has_no_meetings_to_log(ctx):
    (result,) = sync(ctx, [act("meeting", NOW, form={"people": []})])
    assert result["code"] == "not_allowed"
