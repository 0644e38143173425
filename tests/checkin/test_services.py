"""The attendance service: every refusal code, idempotent check-in, the window's edges with an
injected ``now``, corrections that keep who/when/why, typed codes, remembered phones, requests
to join, the QR a real decoder reads, and many threads checking one person in at once."""

import logging
import threading
from datetime import timedelta

import pytest
import zxingcpp
from sqlalchemy import func, select

from tests.factories import NOW, make_class, make_course, make_person, make_session, make_user
from webapp import qr
from webapp.accounts.models import User
from webapp.checkin import phones, services
from webapp.checkin.models import (
    Attendance,
    AttendanceChange,
    CheckinPoint,
    Device,
    JoinRequest,
    JoinStatus,
    Method,
    Status,
)
from webapp.checkin.occasions import SessionOccasion
from webapp.checkin.services import CheckinError
from webapp.config import defaults
from webapp.extensions import db
from webapp.people.models import Commune, Person, Village
from webapp.permissions import Role
from webapp.scheduling import enrolment as enrolments
from webapp.scheduling.models import ClassSession, ClassStatus, Enrolment, EnrolmentStatus

SECOND = timedelta(seconds=1)


@pytest.fixture
def ctx(app, world):
    """Session 03:00-05:00 UTC (10:00-12:00 in Vietnam) of a 3-seat class run by ``trainer``;
    An and Bình are enrolled, Cúc is not. The window is 02:30-05:30, late from 03:15."""
    with app.app_context():
        trainer = db.session.get(User, world.users["trainer"])
        commune = db.session.get(Commune, world.commune_id)
        v1, v2 = (db.session.get(Village, i) for i in world.village_ids)
        course = make_course(world.commune_id, trainer.id)
        course_class = make_class(course, [trainer], capacity=3)
        session = make_session(course_class, NOW)
        an = make_person(v1, "Nguyễn Văn An", 1958, phone="0905123456")
        binh = make_person(v1, "Trần Thị Bình", 1962, phone="0905999888")
        cuc = make_person(v2, "Lê Thị Cúc", 1960, phone="0914000111")
        for person in (an, binh):
            enrolments.enrol(actor=trainer, now=NOW, course_class=course_class, person=person)
        db.session.commit()
        yield {
            "trainer": trainer,
            "organiser": db.session.get(User, world.users["organiser"]),
            "admin": db.session.get(User, world.users["admin"]),
            "mentor": db.session.get(User, world.users["mentor"]),
            "other_organiser": db.session.get(User, world.users["other_organiser"]),
            "commune": commune,
            "world": world,
            "v1": v1,
            "class": course_class,
            "session": session,
            "occasion": SessionOccasion(session),
            "an": an,
            "binh": binh,
            "cuc": cuc,
        }
        db.session.rollback()


def code_of(excinfo) -> str:
    return excinfo.value.code


def rows(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def self_scan(ctx, person=None, now=NOW, **kwargs):
    return services.check_in(
        ctx["occasion"], person or ctx["an"], method=Method.SELF_SCAN, now=now, **kwargs
    )


def by_trainer(ctx, person=None, now=NOW, method=Method.ROSTER, actor=None):
    return services.check_in(
        ctx["occasion"], person or ctx["an"], method=method, now=now, actor=actor or ctx["trainer"]
    )


# --- the check-in window ------------------------------------------------------------------------


def test_window_is_built_from_the_configured_minutes(ctx):
    occasion = ctx["occasion"]
    assert occasion.opens_at == NOW - timedelta(minutes=30)
    assert occasion.closes_at == NOW + timedelta(hours=2, minutes=30)
    assert occasion.late_from == NOW + timedelta(minutes=15)
    assert occasion.is_open(occasion.opens_at) and occasion.is_open(occasion.closes_at)
    assert not occasion.is_open(occasion.opens_at - SECOND)
    assert not occasion.is_open(occasion.closes_at + SECOND)


def test_one_second_before_the_window_opens_is_refused(ctx):
    with pytest.raises(CheckinError) as excinfo:
        self_scan(ctx, now=ctx["occasion"].opens_at - SECOND)
    assert code_of(excinfo) == "window_not_open"
    # The learner is told when it opens, in Vietnam time (02:30 UTC).
    assert excinfo.value.params["time"] == "09:30"
    assert rows(Attendance) == 0


def test_the_window_opening_second_is_accepted(ctx):
    result = self_scan(ctx, now=ctx["occasion"].opens_at)
    assert result.created and result.record.status == Status.PRESENT


def test_the_window_closing_second_is_accepted(ctx):
    result = self_scan(ctx, now=ctx["occasion"].closes_at)
    assert result.created and result.record.status == Status.LATE


def test_one_second_after_the_window_closes_is_refused_for_the_learners_phone(ctx):
    with pytest.raises(CheckinError) as excinfo:
        self_scan(ctx, now=ctx["occasion"].closes_at + SECOND)
    assert code_of(excinfo) == "window_closed"
    assert rows(Attendance) == 0


@pytest.mark.parametrize("method", [Method.PAPER, Method.ROSTER, Method.CARD, Method.CODE])
def test_staff_methods_work_after_the_window_closed(ctx, method):
    """A paper sign-in sheet is entered the next day."""
    result = by_trainer(ctx, now=ctx["occasion"].closes_at + timedelta(days=1), method=method)
    assert result.created
    assert result.record.method == method
    assert result.record.recorded_by_id == ctx["trainer"].id


def test_staff_methods_do_not_work_before_the_window_opens(ctx):
    with pytest.raises(CheckinError) as excinfo:
        by_trainer(ctx, now=ctx["occasion"].opens_at - SECOND, method=Method.PAPER)
    assert code_of(excinfo) == "window_not_open"


def test_late_only_after_the_grace_time(ctx):
    late_from = ctx["occasion"].late_from
    on_time = self_scan(ctx, ctx["an"], now=late_from)
    late = self_scan(ctx, ctx["binh"], now=late_from + SECOND)
    assert on_time.record.status == Status.PRESENT
    assert late.record.status == Status.LATE
    assert late.record.attended and late.record.recorded_at == late_from + SECOND


def test_late_follows_the_configured_grace_time(app, ctx):
    app.config["CHECKIN_LATE_AFTER_MINUTES"] = 5
    try:
        assert self_scan(ctx, now=NOW + timedelta(minutes=6)).record.status == Status.LATE
    finally:
        app.config["CHECKIN_LATE_AFTER_MINUTES"] = 15


# --- refusals: cancelled, not enrolled --------------------------------------------------------


def test_a_cancelled_session_refuses_check_in(ctx):
    ctx["session"].cancelled_at = NOW - timedelta(days=1)
    db.session.flush()
    for attempt in (lambda: self_scan(ctx), lambda: by_trainer(ctx)):
        with pytest.raises(CheckinError) as excinfo:
            attempt()
        assert code_of(excinfo) == "session_cancelled"
    with pytest.raises(CheckinError) as excinfo:
        services.set_status(
            ctx["occasion"], ctx["an"], Status.ABSENT, actor=ctx["trainer"], now=NOW
        )
    assert code_of(excinfo) == "session_cancelled"
    assert rows(Attendance) == 0


def test_a_cancelled_class_refuses_check_in(ctx):
    ctx["class"].status = ClassStatus.CANCELLED
    db.session.flush()
    with pytest.raises(CheckinError) as excinfo:
        self_scan(ctx)
    assert code_of(excinfo) == "session_cancelled"
    assert not ctx["occasion"].is_open(NOW)


def test_a_person_not_in_the_class_is_refused(ctx):
    with pytest.raises(CheckinError) as excinfo:
        self_scan(ctx, ctx["cuc"])
    assert code_of(excinfo) == "not_enrolled"
    assert excinfo.value.status == 409
    assert "Lê Thị Cúc" in excinfo.value.message
    with pytest.raises(CheckinError) as excinfo:
        by_trainer(ctx, ctx["cuc"])
    assert code_of(excinfo) == "not_enrolled"


def test_a_person_on_the_waiting_list_is_refused(ctx):
    dung = make_person(ctx["v1"], "Phạm Dũng", 1957)
    em = make_person(ctx["v1"], "Võ Em", 1959)
    for person in (dung, em):  # the third seat, then the waiting list
        enrolments.enrol(actor=ctx["trainer"], now=NOW, course_class=ctx["class"], person=person)
    assert db.session.scalar(select(Enrolment.status).where(Enrolment.person_id == em.id)) == (
        EnrolmentStatus.WAITING
    )
    assert self_scan(ctx, dung).created
    with pytest.raises(CheckinError) as excinfo:
        self_scan(ctx, em)
    assert code_of(excinfo) == "not_enrolled"


def test_a_withdrawn_person_is_refused(ctx):
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.person_id == ctx["an"].id))
    enrolments.unenrol(actor=ctx["trainer"], now=NOW, enrolment=enrolment, reason="Chuyển nhà")
    with pytest.raises(CheckinError) as excinfo:
        self_scan(ctx)
    assert code_of(excinfo) == "not_enrolled"
    with pytest.raises(CheckinError) as excinfo:
        services.set_status(
            ctx["occasion"], ctx["an"], Status.PRESENT, actor=ctx["trainer"], now=NOW
        )
    assert code_of(excinfo) == "not_enrolled"


# --- refusals: who may record -----------------------------------------------------------------


def other_trainer(ctx) -> User:
    """A trainer of the same commune who runs another class."""
    trainer = make_user("trainer2", Role.TRAINER, ctx["commune"])
    course = make_course(ctx["commune"].id, trainer.id, title="Khóa khác")
    make_class(course, [trainer], name="Lớp khác")
    return trainer


@pytest.mark.parametrize("who", ["other_trainer", "mentor", "other_organiser", "nobody"])
def test_only_the_classes_runners_use_staff_methods(ctx, who):
    actor = {
        "other_trainer": other_trainer,
        "mentor": lambda c: c["mentor"],
        "other_organiser": lambda c: c["other_organiser"],
        "nobody": lambda c: None,
    }[who](ctx)
    occasion, an = ctx["occasion"], ctx["an"]
    attempts = [
        lambda: services.check_in(occasion, an, method=Method.ROSTER, now=NOW, actor=actor),
        lambda: services.check_in(occasion, an, method=Method.PAPER, now=NOW, actor=actor),
        lambda: services.set_status(occasion, an, Status.ABSENT, actor=actor, now=NOW),
        lambda: services.set_rotating(occasion, actor=actor, now=NOW, rotating=True),
    ]
    for attempt in attempts:
        with pytest.raises(CheckinError) as excinfo:
            attempt()
        assert code_of(excinfo) == "not_allowed"
        assert excinfo.value.status == 403
    record = self_scan(ctx).record
    with pytest.raises(CheckinError) as excinfo:
        services.correct(record, Status.ABSENT, actor=actor, now=NOW, reason="Nhầm người")
    assert code_of(excinfo) == "not_allowed"
    assert record.status == Status.PRESENT
    assert rows(AttendanceChange) == 0


@pytest.mark.parametrize("who", ["trainer", "organiser", "admin"])
def test_the_classes_trainers_and_the_communes_managers_record(ctx, who):
    result = by_trainer(ctx, actor=ctx[who])
    assert result.created and result.record.recorded_by_id == ctx[who].id


def test_the_learners_own_phone_needs_no_actor(ctx):
    record = self_scan(ctx, device_key="phone-1").record
    assert record.recorded_by_id is None
    assert record.method == Method.SELF_SCAN and record.device_key == "phone-1"


# --- idempotency ------------------------------------------------------------------------------


def test_a_second_scan_returns_the_first_record(ctx):
    first = self_scan(ctx, now=NOW - timedelta(minutes=5), device_key="phone-1")
    db.session.commit()
    second = self_scan(ctx, now=NOW + timedelta(minutes=40), device_key="phone-2")
    assert first.created and not second.created
    assert second.record.id == first.record.id
    # The first arrival stands: not made late, not moved to the second phone.
    assert second.record.status == Status.PRESENT
    assert second.record.recorded_at == NOW - timedelta(minutes=5)
    assert second.record.device_key == "phone-1"
    assert rows(Attendance) == 1
    assert rows(AttendanceChange) == 0


def test_the_trainer_ticking_someone_already_here_changes_nothing(ctx):
    first = self_scan(ctx)
    again = by_trainer(ctx, now=NOW + timedelta(minutes=30), method=Method.CARD)
    assert not again.created and again.record.id == first.record.id
    assert again.record.method == Method.SELF_SCAN and again.record.recorded_by_id is None
    assert rows(Attendance) == 1


def test_marked_absent_then_arriving_counts_as_present_with_a_change(ctx):
    absent = services.set_status(
        ctx["occasion"], ctx["an"], Status.ABSENT, actor=ctx["trainer"], now=NOW - 10 * SECOND
    )
    db.session.commit()
    result = self_scan(ctx, now=NOW + timedelta(minutes=2), device_key="phone-1")
    assert result.created
    assert result.record.id == absent.id
    assert result.record.status == Status.PRESENT
    assert result.record.recorded_at == NOW + timedelta(minutes=2)
    assert result.record.device_key == "phone-1"
    # The record says how the person arrived; the absent mark stays in the history.
    assert result.record.method == Method.SELF_SCAN and result.record.recorded_by_id is None
    (change,) = db.session.scalars(select(AttendanceChange)).all()
    assert (change.old_status, change.new_status) == (Status.ABSENT, Status.PRESENT)
    assert change.changed_by_id is None and change.method == Method.SELF_SCAN
    assert change.changed_at == NOW + timedelta(minutes=2)
    assert rows(Attendance) == 1


def test_marked_absent_then_the_trainer_scanning_the_card_records_the_trainer(ctx):
    services.set_status(ctx["occasion"], ctx["an"], Status.ABSENT, actor=ctx["organiser"], now=NOW)
    result = by_trainer(ctx, now=NOW + SECOND, method=Method.CARD)
    assert result.created and result.record.status == Status.PRESENT
    assert result.record.method == Method.CARD
    assert result.record.recorded_by_id == ctx["trainer"].id
    (change,) = result.record.changes
    assert change.changed_by_id == ctx["trainer"].id and change.method == Method.CARD


def test_excused_then_arriving_late_counts_as_late(ctx):
    services.set_status(
        ctx["occasion"], ctx["an"], Status.EXCUSED, actor=ctx["trainer"], now=NOW - 20 * SECOND
    )
    result = self_scan(ctx, now=ctx["occasion"].late_from + timedelta(minutes=1))
    assert result.created and result.record.status == Status.LATE
    assert rows(AttendanceChange) == 1


# --- set_status and correct keep who, when and why --------------------------------------------


def test_set_status_records_a_new_row_without_a_change(ctx):
    record = services.set_status(
        ctx["occasion"], ctx["an"], Status.EXCUSED, actor=ctx["trainer"], now=NOW, method="paper"
    )
    assert record.status == Status.EXCUSED and record.method == Method.PAPER
    assert record.recorded_by_id == ctx["trainer"].id and record.recorded_at == NOW
    assert rows(AttendanceChange) == 0


def test_absent_or_excused_may_be_recorded_before_the_window_but_present_may_not(ctx):
    early = ctx["occasion"].opens_at - timedelta(days=1)
    record = services.set_status(
        ctx["occasion"], ctx["an"], Status.EXCUSED, actor=ctx["trainer"], now=early
    )
    assert record.status == Status.EXCUSED
    with pytest.raises(CheckinError) as excinfo:
        services.set_status(
            ctx["occasion"], ctx["binh"], Status.PRESENT, actor=ctx["trainer"], now=early
        )
    assert code_of(excinfo) == "window_not_open"


def test_set_status_over_a_record_keeps_who_when_and_why(ctx):
    record = self_scan(ctx).record
    later = NOW + timedelta(hours=3)
    same = services.set_status(
        ctx["occasion"],
        ctx["an"],
        Status.ABSENT,
        actor=ctx["organiser"],
        now=later,
        method=Method.PAPER,
        reason="Về sớm",
    )
    assert same.id == record.id and same.status == Status.ABSENT and same.updated_at == later
    (change,) = same.changes
    assert change.changed_by_id == ctx["organiser"].id
    assert change.changed_at == later
    assert change.reason == "Về sớm"
    assert (change.old_status, change.new_status) == (Status.PRESENT, Status.ABSENT)
    assert change.method == Method.PAPER
    # The same status again is not a change.
    services.set_status(
        ctx["occasion"], ctx["an"], Status.ABSENT, actor=ctx["trainer"], now=later + SECOND
    )
    assert rows(AttendanceChange) == 1


def test_a_correction_keeps_who_when_and_why(ctx):
    record = self_scan(ctx).record
    db.session.commit()
    when = NOW + timedelta(days=2)
    corrected = services.correct(
        record, "excused", actor=ctx["trainer"], now=when, reason="  Nhầm: bà ấy ốm, có báo  "
    )
    db.session.commit()
    assert corrected.status == Status.EXCUSED and corrected.updated_at == when
    assert corrected.recorded_at == NOW  # when the person arrived is kept
    (change,) = db.session.scalars(select(AttendanceChange)).all()
    assert change.attendance_id == record.id
    assert change.changed_by_id == ctx["trainer"].id and change.changed_by.username == "trainer"
    assert change.changed_at == when
    assert change.reason == "Nhầm: bà ấy ốm, có báo"
    assert (change.old_status, change.new_status) == (Status.PRESENT, Status.EXCUSED)
    assert change.method == Method.ROSTER


def test_a_long_reason_is_kept_up_to_300_characters(ctx):
    record = self_scan(ctx).record
    services.correct(record, Status.ABSENT, actor=ctx["trainer"], now=NOW, reason="x" * 500)
    db.session.commit()
    assert len(db.session.scalar(select(AttendanceChange.reason))) == 300


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_correction_without_a_reason_is_refused(ctx, reason):
    record = self_scan(ctx).record
    with pytest.raises(CheckinError) as excinfo:
        services.correct(record, Status.ABSENT, actor=ctx["trainer"], now=NOW, reason=reason)
    assert code_of(excinfo) == "reason_missing"
    assert record.status == Status.PRESENT
    assert rows(AttendanceChange) == 0


def test_correcting_to_the_same_status_writes_no_change(ctx):
    record = self_scan(ctx).record
    services.correct(record, Status.PRESENT, actor=ctx["trainer"], now=NOW, reason="Kiểm tra")
    assert rows(AttendanceChange) == 0


# --- refusals are logged ------------------------------------------------------------------------


def test_refusals_and_check_ins_are_logged(ctx, caplog):
    caplog.set_level(logging.INFO, logger="webapp.checkin")
    with pytest.raises(CheckinError):
        self_scan(ctx, now=ctx["occasion"].closes_at + SECOND)
    with pytest.raises(CheckinError):
        self_scan(ctx, ctx["cuc"])
    with pytest.raises(CheckinError):
        services.resolve_token("no-such-token", code=None, now=NOW)
    self_scan(ctx)
    messages = [r.getMessage() for r in caplog.records if r.name == "webapp.checkin"]
    occasion = f"session:{ctx['session'].id}"
    assert f"check-in refused code=window_closed occasion={occasion} person={ctx['an'].id}" in (
        messages
    )
    assert f"check-in refused code=not_enrolled occasion={occasion} person={ctx['cuc'].id}" in (
        messages
    )
    assert "check-in refused code=unknown_token occasion=- person=None" in messages
    assert any(
        m.startswith(f"checked in occasion={occasion} person={ctx['an'].id}") for m in messages
    )


# --- the QR token and the typed session code ---------------------------------------------------


def test_point_for_is_made_once(ctx):
    point = services.point_for(ctx["occasion"], now=NOW)
    again = services.point_for(ctx["occasion"], now=NOW + timedelta(hours=1))
    assert again.id == point.id
    assert len(point.code) == services.CODE_LENGTH and set(point.code) <= set(services.ALPHABET)
    assert len(point.token) <= 16 and not point.rotating
    assert rows(CheckinPoint) == 1


def test_resolve_token_finds_the_occasion(ctx):
    point = services.point_for(ctx["occasion"], now=NOW)
    found, occasion, _rows = services.resolve_token(point.token, code=None, now=NOW)
    assert found.id == point.id
    assert (occasion.kind, occasion.id) == ("session", ctx["session"].id)


def test_resolve_token_reads_who_the_learner_says_they_are_with_the_point(app, ctx):
    from tests.sql import statements
    from webapp import ratelimit

    point = services.point_for(ctx["occasion"], now=NOW)
    db.session.commit()
    other_village = db.session.get(Village, ctx["world"].other_village_id)
    # The same number and year in another commune: not the person of this commune's session.
    make_person(other_village, "Nguyễn Văn An (xã khác)", 1958, phone="0905123456")
    db.session.commit()
    guard = ratelimit.Guard(
        [("t-fail", "addr"), ("t-fail-phone", "905123456")], NOW, 600, lambda counts: None
    )
    identity = phones.parse_identity("+84 905 123 456", 1958, guard)
    token = point.token
    with statements(app) as seen:
        found, occasion, people = services.resolve_token(
            token, code=None, now=NOW, joined=identity.joined()
        )
    assert len(seen) == 1 and found.id == point.id
    assert len(people) == 2  # both people came, with the point
    person = phones.choose_person(identity, people, commune_id=occasion.commune_id)
    assert (person.id, person.full_name) == (ctx["an"].id, "Nguyễn Văn An")
    # Nobody with this number and year: one row all the same (the guard's counts).
    nobody = phones.parse_identity("0905123456", 1990, guard)
    nobody_rows = services.resolve_token(
        point.token, code=None, now=NOW, joined=nobody.joined()
    ).rows
    assert len(nobody_rows) == 1
    with pytest.raises(CheckinError) as excinfo:
        phones.choose_person(nobody, nobody_rows, commune_id=occasion.commune_id)
    assert code_of(excinfo) == "not_identified"


def test_the_guard_is_checked_before_the_person_is_given(ctx):
    from webapp import ratelimit

    point = services.point_for(ctx["occasion"], now=NOW)
    db.session.commit()
    ratelimit.hit("t-fail", "addr", now=NOW, window_seconds=600)
    db.session.commit()
    seen = []

    def check(counts):
        seen.append(counts)
        raise RuntimeError("too many")

    guard = ratelimit.Guard([("t-fail", "addr")], NOW, 600, check)
    identity = phones.parse_identity("0905123456", 1958, guard)
    found = services.resolve_token(point.token, code=None, now=NOW, joined=identity.joined())
    with pytest.raises(RuntimeError):
        phones.choose_person(identity, found.rows, commune_id=ctx["commune"].id)
    assert seen == [[1]]
    assert phones.parse_identity("0905", 1958) is None  # too short: the caller refuses it


def test_an_unknown_token_is_refused(ctx):
    services.point_for(ctx["occasion"], now=NOW)
    with pytest.raises(CheckinError) as excinfo:
        services.resolve_token("AAAAAAAAAAAA", code=None, now=NOW)
    assert code_of(excinfo) == "unknown_token"
    assert excinfo.value.status == 404


def test_rotating_mode_accepts_this_step_and_the_previous_one(ctx):
    point = services.set_rotating(ctx["occasion"], actor=ctx["trainer"], now=NOW, rotating=True)
    step = services.step_of(NOW)
    shown = services.current_code(point, NOW)
    assert shown == services.rotating_code(point, step) != point.code
    for code in (shown, shown.lower(), services.rotating_code(point, step - 1)):
        assert services.resolve_token(point.token, code=code, now=NOW).point.id == point.id
    # A minute later the code just shown still works; two steps on it does not.
    minute = timedelta(seconds=services.STEP_SECONDS)
    assert services.resolve_token(point.token, code=shown, now=NOW + minute).point.id == point.id
    for code, now in (
        (services.rotating_code(point, step - 2), NOW),
        (shown, NOW + 2 * minute),
        (services.rotating_code(point, step + 1), NOW),  # not a code from the future either
        (None, NOW),  # the bare /c/<token> of a forwarded photo
        (point.code, NOW),  # the fixed code is off while rotating
    ):
        with pytest.raises(CheckinError) as excinfo:
            services.resolve_token(point.token, code=code, now=now)
        assert code_of(excinfo) == "code_expired"


def test_rotating_codes_differ_between_steps_and_points(ctx):
    point = services.point_for(ctx["occasion"], now=NOW)
    codes = {services.rotating_code(point, s) for s in range(50)}
    assert len(codes) == 50
    assert all(len(c) == 6 and set(c) <= set(services.ALPHABET) for c in codes)
    point.rotating = True
    assert services.current_code(point, NOW) == services.rotating_code(point, services.step_of(NOW))
    point.rotating = False
    assert services.current_code(point, NOW) == point.code


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("acdefg", "ACDEFG"),
        (" ac de-fg ", "ACDEFG"),
        ("AC–DE.FG\n", "ACDEFG"),
        ("o0q", "QQQ"),
        ("1iIlL", "TTTTT"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalise_code(typed, code):
    assert services.normalise_code(typed) == code


def test_resolve_code_finds_a_fixed_code_however_it_is_typed(ctx):
    point = services.point_for(ctx["occasion"], now=NOW)
    point.code = "QTCDEF"
    db.session.flush()
    for typed in ("QTCDEF", "qtcdef", "qt cd-ef", " o1CDEF ", "0lcdef"):
        found, code = services.resolve_code(typed, now=NOW)
        assert (found.id, code) == (point.id, None)


def test_resolve_code_finds_a_rotating_code_only_in_the_open_window(ctx):
    point = services.set_rotating(ctx["occasion"], actor=ctx["trainer"], now=NOW, rotating=True)
    db.session.flush()
    shown = services.current_code(point, NOW)
    found, code = services.resolve_code(shown.lower(), now=NOW)
    assert (found.id, code) == (point.id, shown)
    previous = services.rotating_code(point, services.step_of(NOW) - 1)
    assert services.resolve_code(previous, now=NOW)[0].id == point.id
    # The same rotating scheme outside the window (the day after): nobody is checking in.
    tomorrow = NOW + timedelta(days=1)
    with pytest.raises(CheckinError) as excinfo:
        services.resolve_code(services.current_code(point, tomorrow), now=tomorrow)
    assert code_of(excinfo) == "unknown_code"
    # Nor the point's fixed code while it rotates.
    with pytest.raises(CheckinError) as excinfo:
        services.resolve_code(point.code, now=NOW)
    assert code_of(excinfo) == "unknown_code"


def test_resolve_code_skips_a_rotating_point_of_a_cancelled_session(ctx):
    point = services.set_rotating(ctx["occasion"], actor=ctx["trainer"], now=NOW, rotating=True)
    ctx["session"].cancelled_at = NOW
    db.session.flush()
    with pytest.raises(CheckinError) as excinfo:
        services.resolve_code(services.current_code(point, NOW), now=NOW)
    assert code_of(excinfo) == "unknown_code"


@pytest.mark.parametrize("typed", ["", "ACDEF", "ACDEFGH", "ACD EFG H", "------"])
def test_a_code_of_the_wrong_length_is_refused(ctx, typed):
    services.point_for(ctx["occasion"], now=NOW)
    with pytest.raises(CheckinError) as excinfo:
        services.resolve_code(typed, now=NOW)
    assert code_of(excinfo) == "unknown_code"


def test_an_unknown_code_is_refused(ctx):
    point = services.point_for(ctx["occasion"], now=NOW)
    unused = "ACDEFG" if point.code != "ACDEFG" else "GFEDCA"
    with pytest.raises(CheckinError) as excinfo:
        services.resolve_code(unused, now=NOW)
    assert code_of(excinfo) == "unknown_code"


# --- the QR a phone camera reads --------------------------------------------------------------


def decode(text: str) -> list[str]:
    image = qr.make(text).make_image().get_image()
    return [found.text for found in zxingcpp.read_barcodes(image)]


def test_the_session_qr_decodes_to_exactly_the_checkin_url(app, ctx):
    point = services.point_for(ctx["occasion"], now=NOW)
    url = app.config["BASE_URL"] + "/c/" + point.token
    assert decode(url) == [url]


def test_the_rotating_qr_decodes_to_the_url_with_its_code(app, ctx):
    point = services.set_rotating(ctx["occasion"], actor=ctx["trainer"], now=NOW, rotating=True)
    url = f"{app.config['BASE_URL']}/c/{point.token}/{services.current_code(point, NOW)}"
    assert decode(url) == [url]


def test_the_qr_stays_small_with_the_default_base_url(app, ctx):
    """Version 4 or less at level M: big modules that old phone cameras still read."""
    base = defaults(app)["BASE_URL"]
    point = services.set_rotating(ctx["occasion"], actor=ctx["trainer"], now=NOW, rotating=True)
    # Every token has the same length: check a few fresh ones as well as this point's.
    tokens = [point.token] + [services.secrets.token_urlsafe(9) for _ in range(20)]
    for token in tokens:
        assert len(token) == len(point.token)
        fixed = qr.make(f"{base}/c/{token}")
        rotating = qr.make(f"{base}/c/{token}/{services.current_code(point, NOW)}")
        assert fixed.version <= 4 and rotating.version <= 4
        assert (
            fixed.error_correction
            == rotating.error_correction
            == qr.qrcode.constants.ERROR_CORRECT_M
        )


# --- learners identify themselves ---------------------------------------------------------------


def test_find_person_by_phone_and_birth_year(ctx):
    commune_id = ctx["commune"].id
    for phone in ("0905123456", "0905 123 456", "+84 905 123 456", "84905123456", "0905.123.456"):
        assert phones.find_person(commune_id=commune_id, phone=phone, birth_year=1958).id == (
            ctx["an"].id
        )


@pytest.mark.parametrize(
    ("phone", "birth_year"), [("", 1958), ("0905", 1958), ("0905123456", None), ("0905123456", 0)]
)
def test_find_person_needs_the_phone_and_the_birth_year(ctx, phone, birth_year):
    with pytest.raises(CheckinError) as excinfo:
        phones.find_person(commune_id=ctx["commune"].id, phone=phone, birth_year=birth_year)
    assert code_of(excinfo) == "identity_incomplete"


def test_find_person_finds_nobody(ctx):
    world = ctx["world"]
    for commune_id, phone, year in (
        (world.commune_id, "0905123456", 1959),  # wrong year
        (world.commune_id, "0905123457", 1958),  # wrong phone
        (world.other_commune_id, "0905123456", 1958),  # another commune's session
    ):
        with pytest.raises(CheckinError) as excinfo:
            phones.find_person(commune_id=commune_id, phone=phone, birth_year=year)
        assert code_of(excinfo) == "not_identified"  # the one refusal that names nobody


def test_find_person_refuses_to_guess_between_two_people(ctx):
    make_person(ctx["v1"], "Nguyễn Văn Anh", 1958, phone="0905123456")  # twin sharing a phone
    with pytest.raises(CheckinError) as excinfo:
        phones.find_person(commune_id=ctx["commune"].id, phone="0905123456", birth_year=1958)
    assert code_of(excinfo) == "not_identified"
    assert "Anh" not in str(excinfo.value.message) and "An" not in str(excinfo.value.message)


@pytest.mark.parametrize("stored", ["84905123456", "905123456", "0905123456"])
def test_find_person_finds_numbers_stored_before_they_were_canonical(ctx, stored):
    ctx["an"].phone = stored  # a +84 list, or a spreadsheet that dropped the zero
    db.session.flush()
    for typed in ("0905 123 456", "+84905123456", "905123456"):
        found = phones.find_person(commune_id=ctx["commune"].id, phone=typed, birth_year=1958)
        assert found.id == ctx["an"].id


def test_with_the_point_the_member_of_the_class_is_chosen(ctx):
    # A family phone: two people of the commune with one number and year, one of them in
    # this class: the member checks in; the details of a non-member alone are refused.
    point = services.point_for(ctx["occasion"], now=NOW)
    other = make_person(ctx["v1"], "Nguyễn Văn Anh", 1958, phone="0905123456")
    db.session.commit()
    identity = phones.parse_identity("0905123456", 1958)
    found = services.resolve_token(point.token, code=None, now=NOW, joined=identity.joined())
    commune_id = ctx["commune"].id
    assert phones.choose_person(identity, found.rows, commune_id=commune_id).id == ctx["an"].id
    assert phones.join_candidate(identity, found.rows, commune_id=commune_id) is None
    other.phone = "0905000111"
    db.session.commit()
    alone = phones.parse_identity("0905000111", 1958)
    found = services.resolve_token(point.token, code=None, now=NOW, joined=alone.joined())
    with pytest.raises(CheckinError) as excinfo:
        phones.choose_person(alone, found.rows, commune_id=commune_id)
    assert code_of(excinfo) == "not_identified"
    assert phones.join_candidate(alone, found.rows, commune_id=commune_id).id == other.id


def test_learner_codes_are_given_once_and_found_however_typed(ctx):
    an, binh = ctx["an"], ctx["binh"]
    phones.ensure_learner_codes([an, binh])
    db.session.commit()
    code = an.learner_code
    assert len(code) == 6 and set(code) <= set(services.ALPHABET) and code != binh.learner_code
    phones.ensure_learner_codes([an])
    assert an.learner_code == code
    for typed in (code, code.lower(), f" {code[:3]}-{code[3:]} "):
        assert phones.person_by_learner_code(typed).id == an.id
    assert phones.person_by_learner_code(code, commune_id=ctx["commune"].id).id == an.id


def test_unknown_learner_codes_are_refused(ctx):
    phones.ensure_learner_codes([ctx["an"]])
    code = ctx["an"].learner_code
    other = "ACDEFG" if code != "ACDEFG" else "GFEDCA"
    for typed, commune_id in (
        (other, None),
        ("", None),
        (None, None),
        (code, ctx["world"].other_commune_id),  # a card of another commune
    ):
        with pytest.raises(CheckinError) as excinfo:
            phones.person_by_learner_code(typed, commune_id=commune_id)
        assert code_of(excinfo) == "unknown_learner_code"


# --- remembered phones --------------------------------------------------------------------------


def test_remember_links_a_phone_to_a_family(ctx):
    key = phones.new_device_key()
    assert len(key) <= 32
    phones.remember(key=key, person=ctx["an"], now=NOW, user_agent="Mozilla/5.0 " + "x" * 300)
    phones.remember(key=key, person=ctx["binh"], now=NOW + SECOND)
    phones.remember(key=key, person=ctx["an"], now=NOW + timedelta(days=1))  # again: no new row
    db.session.commit()
    assert [p.id for p in phones.device_people(key)] == [ctx["an"].id, ctx["binh"].id]
    assert rows(Device) == 2
    device = phones.devices_of(ctx["an"])[0]
    assert device.last_used_at == NOW + timedelta(days=1) and device.created_at == NOW
    assert len(device.user_agent) == 200
    assert phones.device_people(None) == [] and phones.device_people("") == []
    assert phones.device_people("another-phone") == []


def test_forget_and_revoke_stop_a_phone(ctx):
    key = phones.new_device_key()
    for person in (ctx["an"], ctx["binh"]):
        phones.remember(key=key, person=person, now=NOW)
    phones.forget(key=key, person_id=ctx["an"].id, now=NOW + SECOND)
    db.session.commit()
    assert [p.id for p in phones.device_people(key)] == [ctx["binh"].id]
    (device,) = phones.devices_of(ctx["binh"])
    phones.revoke(device, actor=ctx["trainer"], now=NOW + 2 * SECOND)
    db.session.commit()
    assert phones.device_people(key) == []
    assert device.revoked_at == NOW + 2 * SECOND and device.revoked_by_id == ctx["trainer"].id
    # Identifying again on the same phone brings the link back.
    phones.remember(key=key, person=ctx["binh"], now=NOW + 3 * SECOND)
    assert [p.id for p in phones.device_people(key)] == [ctx["binh"].id]
    assert device.revoked_at is None and device.revoked_by_id is None
    assert rows(Device) == 2


def test_one_phone_checking_in_two_people_is_flagged(ctx):
    dung = make_person(ctx["v1"], "Phạm Dũng", 1957)
    enrolments.enrol(actor=ctx["trainer"], now=NOW, course_class=ctx["class"], person=dung)
    assert phones.shared_devices(ctx["occasion"]) == {}
    self_scan(ctx, ctx["an"], device_key="family-phone")
    self_scan(ctx, dung, device_key="own-phone")
    assert phones.shared_devices(ctx["occasion"]) == {}
    self_scan(ctx, ctx["binh"], device_key="family-phone")
    by_trainer(ctx, ctx["binh"])  # already in: still one row
    shared = phones.shared_devices(ctx["occasion"])
    assert list(shared) == ["family-phone"]
    assert sorted(shared["family-phone"]) == sorted([ctx["an"].id, ctx["binh"].id])


def test_a_phone_used_at_two_sessions_is_not_flagged(ctx):
    other = make_session(ctx["class"], NOW + timedelta(days=7))
    self_scan(ctx, ctx["an"], device_key="phone")
    services.check_in(
        SessionOccasion(other),
        ctx["an"],
        method=Method.SELF_SCAN,
        now=NOW + timedelta(days=7),
        device_key="phone",
    )
    assert phones.shared_devices(ctx["occasion"]) == {}
    assert phones.shared_devices(SessionOccasion(other)) == {}


# --- asking to join -----------------------------------------------------------------------------


def test_asking_twice_makes_one_request(ctx):
    first = services.request_join(ctx["occasion"], ctx["cuc"], now=NOW, device_key="phone")
    db.session.commit()
    second = services.request_join(
        ctx["occasion"], ctx["cuc"], now=NOW + timedelta(minutes=1), device_key="phone"
    )
    assert second.id == first.id and second.created_at == NOW
    assert rows(JoinRequest) == 1
    assert [r.id for r in services.pending_joins(ctx["occasion"])] == [first.id]


def test_asking_to_join_outside_the_window_is_refused(ctx):
    with pytest.raises(CheckinError) as excinfo:
        services.request_join(
            ctx["occasion"], ctx["cuc"], now=ctx["occasion"].closes_at + SECOND, device_key=None
        )
    assert code_of(excinfo) == "window_closed"
    assert rows(JoinRequest) == 0


def test_approving_a_request_enrols_and_checks_in_at_the_time_asked(ctx):
    asked_at = ctx["occasion"].late_from + timedelta(minutes=5)
    request = services.request_join(ctx["occasion"], ctx["cuc"], now=asked_at, device_key="ph")
    db.session.commit()
    decided_at = asked_at + timedelta(minutes=10)
    services.decide_join(request, actor=ctx["trainer"], now=decided_at, approve=True)
    db.session.commit()
    assert request.status == JoinStatus.APPROVED
    assert (request.decided_at, request.decided_by_id) == (decided_at, ctx["trainer"].id)
    assert ctx["occasion"].is_member(ctx["cuc"].id)
    record = services.record_of(ctx["occasion"], ctx["cuc"])
    assert record.status == Status.LATE and record.recorded_at == asked_at
    assert record.method == Method.SELF_SCAN and record.device_key == "ph"
    assert record.recorded_by_id == ctx["trainer"].id
    assert services.pending_joins(ctx["occasion"]) == []
    # Scanning again now that they are in the class: the same record.
    again = self_scan(ctx, ctx["cuc"], now=decided_at)
    assert not again.created and again.record.id == record.id


def test_rejecting_a_request_enrols_nobody(ctx):
    request = services.request_join(ctx["occasion"], ctx["cuc"], now=NOW, device_key=None)
    services.decide_join(request, actor=ctx["trainer"], now=NOW + SECOND, approve=False)
    db.session.commit()
    assert request.status == JoinStatus.REJECTED and request.decided_by_id == ctx["trainer"].id
    assert not ctx["occasion"].is_member(ctx["cuc"].id)
    assert rows(Attendance) == 0
    assert services.pending_joins(ctx["occasion"]) == []


def test_a_request_is_answered_once(ctx):
    request = services.request_join(ctx["occasion"], ctx["cuc"], now=NOW, device_key=None)
    services.decide_join(request, actor=ctx["trainer"], now=NOW, approve=False)
    db.session.commit()
    for approve in (True, False):
        with pytest.raises(CheckinError) as excinfo:
            services.decide_join(request, actor=ctx["organiser"], now=NOW, approve=approve)
        assert code_of(excinfo) == "already_decided"
    assert request.status == JoinStatus.REJECTED


def test_only_the_classes_runners_answer_requests(ctx):
    request = services.request_join(ctx["occasion"], ctx["cuc"], now=NOW, device_key=None)
    db.session.commit()
    for actor in (ctx["mentor"], other_trainer(ctx), ctx["other_organiser"]):
        with pytest.raises(CheckinError) as excinfo:
            services.decide_join(request, actor=actor, now=NOW, approve=True)
        assert code_of(excinfo) == "not_allowed"
    assert request.status == JoinStatus.PENDING


def test_approving_into_a_full_class_is_refused_and_writes_nothing(ctx):
    dung = make_person(ctx["v1"], "Phạm Dũng", 1957)
    enrolments.enrol(actor=ctx["trainer"], now=NOW, course_class=ctx["class"], person=dung)
    request = services.request_join(ctx["occasion"], ctx["cuc"], now=NOW, device_key="ph")
    db.session.commit()
    request_id, cuc_id = request.id, ctx["cuc"].id
    with pytest.raises(CheckinError) as excinfo:
        services.decide_join(request, actor=ctx["trainer"], now=NOW, approve=True)
    assert code_of(excinfo) == "class_full" and excinfo.value.status == 409
    db.session.rollback()  # what the request's error handler does
    assert db.session.scalar(select(Enrolment).where(Enrolment.person_id == cuc_id)) is None
    assert db.session.get(JoinRequest, request_id).status == JoinStatus.PENDING
    assert rows(Attendance) == 0
    # With a seat added, the same request can still be approved.
    ctx["class"].capacity = 4
    services.decide_join(
        db.session.get(JoinRequest, request_id), actor=ctx["trainer"], now=NOW, approve=True
    )
    db.session.commit()
    assert rows(Attendance) == 1


def test_approving_someone_on_the_waiting_list_needs_a_free_seat(ctx):
    dung = make_person(ctx["v1"], "Phạm Dũng", 1957)
    for person in (dung, ctx["cuc"]):  # the last seat, then Cúc waits
        enrolments.enrol(actor=ctx["trainer"], now=NOW, course_class=ctx["class"], person=person)
    request = services.request_join(ctx["occasion"], ctx["cuc"], now=NOW, device_key=None)
    db.session.commit()
    request_id = request.id
    with pytest.raises(CheckinError) as excinfo:
        services.decide_join(request, actor=ctx["trainer"], now=NOW + SECOND, approve=True)
    assert code_of(excinfo) == "class_full"
    db.session.rollback()
    ctx["class"].capacity = 4  # a seat added: Cúc, first in line, takes it
    services.decide_join(
        db.session.get(JoinRequest, request_id),
        actor=ctx["trainer"],
        now=NOW + 2 * SECOND,
        approve=True,
    )
    db.session.commit()
    assert ctx["occasion"].is_member(ctx["cuc"].id)
    assert services.record_of(ctx["occasion"], ctx["cuc"]).recorded_at == NOW


def test_approving_someone_enrolled_meanwhile_records_their_attendance(ctx):
    request = services.request_join(ctx["occasion"], ctx["cuc"], now=NOW, device_key="ph")
    enrolments.enrol(actor=ctx["trainer"], now=NOW, course_class=ctx["class"], person=ctx["cuc"])
    db.session.commit()
    services.decide_join(request, actor=ctx["trainer"], now=NOW + SECOND, approve=True)
    db.session.commit()
    assert request.status == JoinStatus.APPROVED
    assert rows(Enrolment) == 3
    assert services.record_of(ctx["occasion"], ctx["cuc"]).device_key == "ph"


# --- many phones at once ------------------------------------------------------------------------


def run_together(app, work, n=8):
    """Run ``work()`` in ``n`` threads, each in its own app context (own session and
    connection), released together by a barrier; its results, and any exception raised."""
    barrier = threading.Barrier(n, timeout=30)
    results, errors = [], []
    lock = threading.Lock()

    def run():
        with app.app_context():
            try:
                prepared = work.prepare()
                barrier.wait()
                outcome = work.run(prepared)
                db.session.commit()
                with lock:
                    results.append(outcome)
            except Exception as error:  # reported by the test below
                db.session.rollback()
                with lock:
                    errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert len(results) == n
    return results


class SelfScan:
    def __init__(self, session_id, person_id, now=NOW):
        self.session_id, self.person_id, self.now = session_id, person_id, now

    def prepare(self):
        session = db.session.get(ClassSession, self.session_id)
        return SessionOccasion(session), db.session.get(Person, self.person_id)

    def run(self, prepared):
        occasion, person = prepared
        result = services.check_in(
            occasion, person, method=Method.SELF_SCAN, now=self.now, device_key="phone"
        )
        return result.created, result.record.id, result.record.status


def test_many_simultaneous_scans_of_one_person_make_one_row(app, ctx):
    session_id, person_id = ctx["session"].id, ctx["an"].id
    db.session.commit()
    results = run_together(app, SelfScan(session_id, person_id))
    db.session.expire_all()
    assert rows(Attendance) == 1
    record = db.session.scalar(select(Attendance))
    assert sorted(created for created, _, _ in results) == [False] * 7 + [True]
    assert {(record_id, status) for _, record_id, status in results} == {
        (record.id, Status.PRESENT)
    }


def test_many_simultaneous_scans_after_absent_make_one_change(app, ctx):
    services.set_status(ctx["occasion"], ctx["an"], Status.ABSENT, actor=ctx["trainer"], now=NOW)
    session_id, person_id = ctx["session"].id, ctx["an"].id
    db.session.commit()
    results = run_together(app, SelfScan(session_id, person_id, now=NOW + SECOND))
    db.session.expire_all()
    assert rows(Attendance) == 1 and rows(AttendanceChange) == 1
    assert sorted(created for created, _, _ in results) == [False] * 7 + [True]
    assert db.session.scalar(select(Attendance.status)) == Status.PRESENT


def test_many_people_scanning_at_once_each_get_one_row(app, ctx):
    people = [make_person(ctx["v1"], f"Người Số {i}", 1950 + i) for i in range(6)]
    ctx["class"].capacity = 10
    for person in people:
        enrolments.enrol(actor=ctx["trainer"], now=NOW, course_class=ctx["class"], person=person)
    ids = [ctx["an"].id, ctx["binh"].id] + [p.id for p in people]
    session_id = ctx["session"].id
    db.session.commit()
    queue = list(ids)
    pop = threading.Lock()

    class EachOwn(SelfScan):
        def prepare(self):
            with pop:
                self_person = queue.pop()
            session = db.session.get(ClassSession, session_id)
            return SessionOccasion(session), db.session.get(Person, self_person)

    results = run_together(app, EachOwn(session_id, None), n=len(ids))
    db.session.expire_all()
    assert all(created for created, _, _ in results)
    assert rows(Attendance) == len(ids)


def test_many_first_scans_make_one_checkin_point(app, ctx):
    session_id = ctx["session"].id
    db.session.commit()

    class MakePoint:
        def prepare(self):
            return SessionOccasion(db.session.get(ClassSession, session_id))

        def run(self, occasion):
            point = services.point_for(occasion, now=NOW)
            return point.token

    tokens = run_together(app, MakePoint())
    db.session.expire_all()
    assert rows(CheckinPoint) == 1
    assert set(tokens) == {db.session.scalar(select(CheckinPoint.token))}


def test_many_simultaneous_requests_to_join_make_one(app, ctx):
    session_id, person_id = ctx["session"].id, ctx["cuc"].id
    db.session.commit()

    class Ask(SelfScan):
        def run(self, prepared):
            occasion, person = prepared
            return services.request_join(occasion, person, now=NOW, device_key="phone").id

    ids = run_together(app, Ask(session_id, person_id))
    db.session.expire_all()
    assert rows(JoinRequest) == 1
    assert set(ids) == {db.session.scalar(select(JoinRequest.id))}


# --- issue 12 (4): links made by a check-in, confirmed or undone by the trainer ---------------


def test_a_link_remembers_how_and_where_and_waits_for_confirmation(ctx):
    from webapp.checkin.models import LinkMethod

    key, occasion = phones.new_device_key(), ctx["occasion"]
    phones.remember(key=key, person=ctx["an"], now=NOW, occasion=occasion, method=LinkMethod.CODE)
    db.session.commit()
    [device] = phones.new_links(occasion)
    assert (device.method, device.occasion_id, device.confirmed_at) == ("code", occasion.id, None)
    phones.confirm_link(device, actor=ctx["trainer"], now=NOW + SECOND, occasion=occasion)
    db.session.commit()
    assert device.confirmed_by_id == ctx["trainer"].id and phones.new_links(occasion) == []
    # Used again: still confirmed. Undone and made again: a new link, to confirm again.
    phones.remember(key=key, person=ctx["an"], now=NOW + 2 * SECOND, occasion=occasion)
    db.session.commit()
    assert device.confirmed_at == NOW + SECOND and device.method == "code"
    phones.revoke(device, actor=ctx["trainer"], now=NOW + 3 * SECOND)
    phones.remember(key=key, person=ctx["an"], now=NOW + 4 * SECOND, occasion=occasion)
    db.session.commit()
    assert (device.confirmed_at, device.confirmed_by_id, device.method) == (None, None, "phone")
    assert device.created_at == NOW + 4 * SECOND and phones.new_links(occasion) == [device]


def test_only_the_runners_confirm_or_undo_and_undo_may_mark_absent(ctx):
    occasion, an = ctx["occasion"], ctx["an"]
    key = phones.new_device_key()
    services.check_in(occasion, an, method=Method.SELF_SCAN, now=NOW, device_key=key)
    phones.remember(key=key, person=an, now=NOW, occasion=occasion)
    db.session.commit()
    [device] = phones.new_links(occasion)
    for who in ("mentor", "other_organiser"):
        actor = ctx[who]
        with pytest.raises(CheckinError) as excinfo:
            phones.confirm_link(device, actor=actor, now=NOW, occasion=occasion)
        assert code_of(excinfo) == "not_allowed"
    with pytest.raises(CheckinError) as excinfo:  # absent needs a reason, as any correction
        phones.undo_link(
            device, actor=ctx["trainer"], now=NOW, occasion=occasion, mark_absent=True, reason=" "
        )
    assert code_of(excinfo) == "reason_missing"
    db.session.rollback()
    phones.undo_link(
        device,
        actor=ctx["trainer"],
        now=NOW + SECOND,
        occasion=occasion,
        mark_absent=True,
        reason="Hàng xóm điểm danh hộ",
    )
    db.session.commit()
    record = services.record_of(occasion, an)
    assert record.status == Status.ABSENT and record.changes[-1].reason == "Hàng xóm điểm danh hộ"
    assert device.revoked_by_id == ctx["trainer"].id and phones.device_people(key) == []
    with pytest.raises(CheckinError) as excinfo:
        phones.confirm_link(device, actor=ctx["trainer"], now=NOW, occasion=occasion)
    assert code_of(excinfo) == "link_revoked"


def test_asking_to_join_is_one_statement_whoever_asks(app, ctx):
    from tests.sql import statements

    occasion = ctx["occasion"]
    cuc = phones.LinkedPerson(ctx["cuc"].id, "Cúc", ctx["cuc"].commune_id)
    for person in (cuc, None, cuc):
        with statements(app) as seen:
            services.ask_to_join(occasion, person, now=NOW + 10 * 60 * SECOND)
        assert len(seen) == 1
    db.session.commit()
    assert [j.person_id for j in services.pending_joins(occasion)] == [ctx["cuc"].id]
    assert all(j.device_key is None for j in services.pending_joins(occasion))
