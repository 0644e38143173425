"""Clashes: a trainer, a venue or a class booked twice at once. Each rule asserts its code."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import NOW, make_class, make_session
from tests.scheduling.sessions_world import build_plan, local8, utc
from webapp.accounts.models import User
from webapp.errors import DomainError
from webapp.extensions import db
from webapp.scheduling import queries, services
from webapp.scheduling.models import ClassSession, Course, CourseClass, Venue
from webapp.scheduling.series import PlannedSession


@pytest.fixture
def plan(app, world):
    with app.app_context():
        yield build_plan(world)


def _get(world, plan):
    return (
        {name: db.session.get(User, uid) for name, uid in world.users.items()}
        | {"trainer2": db.session.get(User, plan.trainer2_id)},
        db.session.get(CourseClass, plan.class_id),
        db.session.get(CourseClass, plan.class2_id),
    )


def slot(start, hours=2) -> PlannedSession:
    return PlannedSession(start, start + timedelta(hours=hours))


def count_sessions() -> int:
    return db.session.scalar(select(func.count()).select_from(ClassSession))


def add(actor, course_class, start, venue_id, hours=2, override_note=None):
    return services.add_sessions(
        actor=actor,
        now=NOW,
        course_class=course_class,
        planned=[slot(start, hours)],
        venue_id=venue_id,
        override_note=override_note,
    )


def refused(call) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call()
    db.session.rollback()
    return caught.value


def test_trainer_double_booked_in_two_classes(world, plan):
    users, first, _ = _get(world, plan)
    other = make_class(db.session.get(Course, plan.course_id), [users["trainer"]], name="Lớp B")
    existing = make_session(first, local8(2025, 12, 1), venue=db.session.get(Venue, plan.venue_id))
    db.session.commit()
    error = refused(lambda: add(users["trainer"], other, utc(2025, 12, 1, 2), plan.venue2_id))
    assert (error.code, error.status) == ("session_clash", 409)
    assert [(c.existing.id, c.reason) for c in error.clashes] == [(existing.id, "trainer")]
    assert count_sessions() == 1


def test_venue_double_booked_by_another_trainer(world, plan):
    users, first, second = _get(world, plan)
    existing = make_session(first, local8(2025, 12, 1), venue=db.session.get(Venue, plan.venue_id))
    db.session.commit()
    error = refused(lambda: add(users["trainer2"], second, utc(2025, 12, 1, 2), plan.venue_id))
    assert error.code == "session_clash"
    assert [(c.existing.id, c.reason) for c in error.clashes] == [(existing.id, "venue")]
    # somewhere else, the other trainer is free
    assert add(users["trainer2"], second, utc(2025, 12, 1, 2), plan.venue2_id)


def test_the_same_class_cannot_meet_twice_at_once_even_without_trainers(world, plan):
    users, _, _ = _get(world, plan)
    orphan = make_class(db.session.get(Course, plan.course_id), [], name="Lớp chưa có giảng viên")
    existing = make_session(orphan, local8(2025, 12, 1))
    db.session.commit()
    error = refused(lambda: add(users["organiser"], orphan, local8(2025, 12, 1), None))
    assert error.code == "session_clash"
    assert [(c.existing.id, c.reason) for c in error.clashes] == [(existing.id, "class")]


def test_back_to_back_is_not_a_clash(world, plan):
    users, first, _ = _get(world, plan)
    make_session(first, local8(2025, 12, 1), venue=db.session.get(Venue, plan.venue_id))  # 08-10
    db.session.commit()
    after = add(users["trainer"], first, utc(2025, 12, 1, 3), plan.venue_id)  # 10:00-12:00
    before = add(users["trainer"], first, utc(2025, 11, 30, 23), plan.venue_id)  # 06:00-08:00
    db.session.commit()
    assert len(after + before) == 2 and count_sessions() == 3


def test_cancelled_sessions_and_cancelled_classes_do_not_clash(world, plan):
    users, first, second = _get(world, plan)
    venue = db.session.get(Venue, plan.venue_id)
    gone = make_session(first, local8(2025, 12, 1), venue=venue)
    services.cancel_session(actor=users["trainer"], now=NOW, session=gone, reason="Mưa bão")
    orphan = make_class(
        db.session.get(Course, plan.course_id), [], name="Lớp đã hủy", status="cancelled"
    )
    make_session(orphan, local8(2025, 12, 1), venue=venue)
    db.session.commit()
    assert add(users["trainer2"], second, local8(2025, 12, 1), plan.venue_id)
    assert add(users["trainer"], first, local8(2025, 12, 1), plan.venue2_id)


def test_organiser_override_is_recorded_with_who_when_and_why(world, plan):
    users, first, second = _get(world, plan)
    existing = make_session(first, local8(2025, 12, 1), venue=db.session.get(Venue, plan.venue_id))
    db.session.commit()
    organiser = users["organiser"]
    # ticking the box without saying why is refused, and the clashes come back to show them
    error = refused(
        lambda: add(organiser, second, local8(2025, 12, 1), plan.venue_id, override_note="  ")
    )
    assert error.code == "override_reason_missing" and error.clashes[0].existing.id == existing.id
    # without the box: the plain clash
    assert refused(lambda: add(organiser, second, local8(2025, 12, 1), plan.venue_id)).code == (
        "session_clash"
    )
    [saved] = add(
        organiser,
        second,
        local8(2025, 12, 1),
        plan.venue_id,
        override_note="Hai nhóm nhỏ dùng chung hội trường",
    )
    db.session.commit()
    saved = db.session.get(ClassSession, saved.id)
    assert saved.clash_override_by_id == organiser.id
    assert saved.clash_override_at == NOW
    assert saved.clash_override_note == "Hai nhóm nhỏ dùng chung hội trường"
    assert existing.clash_override_by_id is None


def test_a_session_without_clash_records_no_override(world, plan):
    users, _, second = _get(world, plan)
    [saved] = add(
        users["organiser"], second, local8(2025, 12, 1), plan.venue_id, override_note="không cần"
    )
    assert saved.clash_override_by_id is None and saved.clash_override_note == ""


def test_trainer_cannot_override(world, plan):
    users, first, _ = _get(world, plan)
    other = make_class(db.session.get(Course, plan.course_id), [users["trainer"]], name="Lớp B")
    make_session(first, local8(2025, 12, 1))
    db.session.commit()
    error = refused(
        lambda: add(
            users["trainer"], other, local8(2025, 12, 1), None, override_note="Tôi dạy cả hai"
        )
    )
    assert (error.code, error.status) == ("session_clash", 409)
    assert count_sessions() == 1


def test_a_series_with_one_clash_saves_nothing(world, plan):
    users, first, second = _get(world, plan)
    make_session(first, local8(2025, 12, 8), venue=db.session.get(Venue, plan.venue_id))
    db.session.commit()
    planned = [slot(local8(2025, 12, d)) for d in (1, 8, 15)]
    error = refused(
        lambda: services.add_sessions(
            actor=users["trainer2"],
            now=NOW,
            course_class=second,
            planned=planned,
            venue_id=plan.venue_id,
        )
    )
    assert [c.planned.local_day.day for c in error.clashes] == [8]
    assert count_sessions() == 1


def test_moving_a_session_checks_clashes_but_not_with_itself(world, plan):
    users, first, second = _get(world, plan)
    venue = db.session.get(Venue, plan.venue_id)
    mine = make_session(first, local8(2025, 12, 1), venue=venue)
    theirs = make_session(second, local8(2025, 12, 2), venue=venue)
    db.session.commit()
    later = slot(utc(2025, 12, 1, 2))  # overlaps its own old time only
    services.update_session(
        actor=users["trainer"],
        now=NOW,
        session=mine,
        planned=later,
        venue_id=venue.id,
        topic="Zalo",
        note="",
    )
    db.session.commit()
    error = refused(
        lambda: services.update_session(
            actor=users["trainer"],
            now=NOW,
            session=mine,
            planned=slot(local8(2025, 12, 2)),
            venue_id=venue.id,
            topic="",
            note="",
        )
    )
    assert [(c.existing.id, c.reason) for c in error.clashes] == [(theirs.id, "venue")]
    assert db.session.get(ClassSession, mine.id).starts_at == utc(2025, 12, 1, 2)


def test_times_in_the_wrong_order_are_refused(world, plan):
    users, first, _ = _get(world, plan)
    error = refused(
        lambda: services.add_sessions(
            actor=users["trainer"],
            now=NOW,
            course_class=first,
            planned=[PlannedSession(local8(2025, 12, 1), local8(2025, 12, 1))],
            venue_id=None,
        )
    )
    assert error.code == "time_order"


def test_other_trainers_and_other_communes_may_not_add_sessions(world, plan):
    users, first, _ = _get(world, plan)
    for actor in (users["trainer2"], users["other_organiser"]):
        error = refused(lambda a=actor: add(a, first, local8(2025, 12, 1), None))
        assert (error.code, error.status) == ("not_allowed", 403)


def test_calendar_marks_both_sides_of_a_clash_but_not_cancelled_ones(world, plan):
    users, first, second = _get(world, plan)
    venue = db.session.get(Venue, plan.venue_id)
    a = make_session(first, local8(2025, 12, 1), venue=venue)
    b = make_session(second, utc(2025, 12, 1, 2), venue=venue)  # same hall, 09:00
    c = make_session(second, utc(2025, 12, 1, 3), venue=venue)  # 10:00, after a; overlaps b
    d = make_session(first, local8(2025, 12, 2), venue=venue)
    e = make_session(second, local8(2025, 12, 2), venue=venue)
    services.cancel_session(actor=users["organiser"], now=NOW, session=e, reason="Trùng lịch")
    db.session.commit()
    sessions = queries.calendar_sessions(
        users["organiser"], utc(2025, 11, 30, 17), utc(2025, 12, 7, 17)
    )
    assert queries.clashing_ids(sessions) == {a.id, b.id, c.id}
    assert d.id not in queries.clashing_ids(list(reversed(sessions)))  # order does not matter
