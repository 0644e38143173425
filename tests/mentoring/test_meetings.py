"""Mentoring meetings: logged through the one attendance service (occasion kind "meeting"),
idempotent, with the same refusal codes as class sessions; not held counts as no contact;
the refusals of a meeting log; the mentee's confirmation; the learner's scan page."""

import os
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import NOW, make_household
from webapp.checkin import services as attendance
from webapp.checkin.models import Attendance, Method, OccasionKind, Status
from webapp.checkin.services import CheckinError
from webapp.extensions import db
from webapp.learning.framework import seed_framework
from webapp.mentoring import meetings, queries, services
from webapp.mentoring.meetings import MeetingDetails, log_meeting
from webapp.mentoring.models import Meeting, MeetingConfirmation, MentoringError
from webapp.mentoring.occasion import MeetingOccasion

#: Mentorships start well before the meetings logged (a mentee belongs to a meeting only if
#: the mentorship ran at its time).
SINCE = NOW - timedelta(days=30)
SQLITE = not os.environ.get("TEST_DATABASE_URL")
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@pytest.fixture
def seeded(mw):
    """The draft framework as the current version (codes 0.1, 2.3 … exist)."""
    seed_framework(NOW - timedelta(days=60))
    return mw


def give(mw, mentor, *people):
    for person in people:
        services.assign(actor=mw.users["organiser"], now=SINCE, mentor=mentor, person=person)
    db.session.commit()
    return list(people)


def household_of_three(mw):
    """Three mentees of An, one household."""
    home = make_household(mw.v1, "HK-01")
    people = [
        mw.villager(name, year, household=home)
        for name, year in (("Hồ Văn Một", 1950), ("Hồ Thị Hai", 1953), ("Hồ Văn Ba", 1980))
    ]
    return give(mw, mw.mentors["an"], *people)


def details(people, **extra) -> MeetingDetails:
    extra.setdefault("minutes", 60)
    extra.setdefault("place", "home")
    return MeetingDetails(people=list(people), **extra)


def log(mw, people, *, actor="mentor", now=NOW, mentor=None, **extra) -> Meeting:
    return log_meeting(
        actor=mw.users[actor],
        now=now,
        mentor=mentor or mw.mentors["an"],
        details=details(people, **extra),
    )


def refused(code: str, call, *args, **kwargs):
    with pytest.raises(MentoringError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value
    return caught.value


def rows_of(meeting: Meeting) -> list[Attendance]:
    return list(
        db.session.scalars(
            select(Attendance)
            .where(
                Attendance.occasion_kind == OccasionKind.MEETING,
                Attendance.occasion_id == meeting.id,
            )
            .order_by(Attendance.person_id)
        )
    )


def counts() -> tuple[int, int]:
    """(meetings, attendance rows) in the database."""
    return (
        db.session.scalar(select(func.count()).select_from(Meeting)),
        db.session.scalar(select(func.count()).select_from(Attendance)),
    )


# --- logging a meeting -----------------------------------------------------------------------


def test_a_household_meeting_logged_afterwards_records_three_present_at_its_start(mw):
    people = household_of_three(mw)
    starts = NOW - timedelta(hours=3)
    meeting = log(mw, people, starts_at=starts, minutes=90)
    assert meeting.held and meeting.entered_later  # logged after it ended
    assert (meeting.starts_at, meeting.ends_at) == (starts, starts + timedelta(minutes=90))
    assert meeting.logged_at == NOW and meeting.logged_by_id == mw.users["mentor"].id
    rows = rows_of(meeting)
    assert [r.person_id for r in rows] == sorted(p.id for p in people)
    assert all(r.occasion_kind == "meeting" for r in rows)
    assert all(r.status == Status.PRESENT for r in rows)  # not late, though logged later
    assert all(r.recorded_at == starts for r in rows)
    assert all(
        r.method == Method.ROSTER and r.recorded_by_id == mw.users["mentor"].id for r in rows
    )


def test_entered_later_only_when_logged_after_the_end(mw):
    [person] = give(mw, mw.mentors["an"], mw.villager("Đinh Thị Lan", 1948))
    during = log(mw, [person], starts_at=NOW - timedelta(minutes=20), minutes=60)
    assert not during.entered_later
    [row] = rows_of(during)
    assert row.recorded_at == NOW - timedelta(minutes=20) and row.status == Status.PRESENT
    at_the_end = log(mw, [person], starts_at=NOW - timedelta(minutes=60), minutes=60)
    assert not at_the_end.entered_later
    now_default = log(mw, [person])  # when: default now
    assert now_default.starts_at == NOW and not now_default.entered_later
    just_after = log(mw, [person], starts_at=NOW - timedelta(minutes=61), minutes=60)
    assert just_after.entered_later


def test_a_meeting_may_be_logged_up_to_three_days_later_not_four_and_not_ahead(mw):
    [person] = give(mw, mw.mentors["an"], mw.villager("Đinh Thị Lan", 1948))
    two_days = log(mw, [person], starts_at=NOW - timedelta(days=2))
    assert two_days.entered_later and rows_of(two_days)[0].recorded_at == NOW - timedelta(days=2)
    three_days = log(mw, [person], starts_at=NOW - timedelta(days=3))
    assert three_days.entered_later
    error = refused("meeting_too_old", log, mw, [person], starts_at=NOW - timedelta(days=4))
    assert "3" in error.message
    refused("meeting_in_future", log, mw, [person], starts_at=NOW + timedelta(hours=1))
    assert log(mw, [person], starts_at=NOW + timedelta(minutes=5)).starts_at  # a phone's clock
    assert counts() == (3, 3)


def test_the_late_days_come_from_the_settings(mw, app, monkeypatch):
    [person] = give(mw, mw.mentors["an"], mw.villager("Đinh Thị Lan", 1948))
    monkeypatch.setitem(app.config, "MENTORING_LATE_DAYS", 1)
    refused("meeting_too_old", log, mw, [person], starts_at=NOW - timedelta(days=2))
    assert log(mw, [person], starts_at=NOW - timedelta(days=1)).entered_later


# --- one record, however it arrives ----------------------------------------------------------


def test_the_same_form_sent_twice_logs_one_meeting(mw):
    people = household_of_three(mw)
    first = log(mw, people, nonce="form-1")
    db.session.commit()
    again = log(mw, people, nonce="form-1", now=NOW + timedelta(seconds=5))
    assert again.id == first.id
    assert counts() == (1, 3)
    other = log(mw, people, nonce="form-2")
    assert other.id != first.id and counts() == (2, 6)


def test_self_scan_and_card_at_a_meeting_are_idempotent(mw):
    one, two, three = household_of_three(mw)
    meeting = log(mw, [one, two], starts_at=NOW - timedelta(minutes=10))
    occasion = MeetingOccasion(meeting)
    scanned = attendance.check_in(occasion, three, method=Method.SELF_SCAN, now=NOW)
    assert scanned.created and scanned.record.method == Method.SELF_SCAN
    again = attendance.check_in(
        occasion, three, method=Method.SELF_SCAN, now=NOW + timedelta(minutes=1)
    )
    assert not again.created and again.record_id == scanned.record_id
    ticked = attendance.check_in(occasion, one, method=Method.SELF_SCAN, now=NOW)
    assert not ticked.created  # the mentor's tick is the record
    card = meetings.record_present(
        actor=mw.users["mentor"], now=NOW, meeting=meeting, person=two, method=Method.CARD
    )
    assert not card.created and card.record.method == Method.ROSTER
    assert len(rows_of(meeting)) == 3


def test_a_non_mentee_is_refused_with_the_code_of_class_sessions(mw):
    [mentee] = give(mw, mw.mentors["an"], mw.villager("Đinh Thị Lan", 1948))
    [binhs] = give(mw, mw.mentors["binh"], mw.villager("Võ Văn Tư", 1955))
    stranger = mw.villager("Phan Văn Lạ", 1960)
    meeting = log(mw, [mentee], starts_at=NOW - timedelta(minutes=10))
    db.session.commit()
    occasion = MeetingOccasion(meeting)
    for person in (stranger, binhs):
        with pytest.raises(CheckinError) as caught:
            attendance.check_in(occasion, person, method=Method.SELF_SCAN, now=NOW)
        assert caught.value.code == "not_enrolled" and caught.value.status == 409
        assert person.full_name in caught.value.message
        with pytest.raises(CheckinError) as caught:
            meetings.record_present(
                actor=mw.users["mentor"],
                now=NOW,
                meeting=meeting,
                person=person,
                method=Method.CARD,
            )
        assert caught.value.code == "not_enrolled"
    db.session.rollback()
    assert counts() == (1, 1)


def test_a_mentee_assigned_after_the_meeting_is_not_a_member_of_it(mw):
    [mentee] = give(mw, mw.mentors["an"], mw.villager("Đinh Thị Lan", 1948))
    meeting = log(mw, [mentee], starts_at=NOW - timedelta(days=2))
    late = mw.villager("Phan Văn Mới", 1960)
    services.assign(actor=mw.users["organiser"], now=NOW, mentor=mw.mentors["an"], person=late)
    with pytest.raises(CheckinError) as caught:
        meetings.record_present(
            actor=mw.users["mentor"], now=NOW, meeting=meeting, person=late, method=Method.CARD
        )
    assert caught.value.code == "not_enrolled"


def test_a_phone_scan_after_the_window_is_refused(mw):
    [mentee] = give(mw, mw.mentors["an"], mw.villager("Đinh Thị Lan", 1948))
    other = give(mw, mw.mentors["an"], mw.villager("Đinh Văn Nam", 1949))[0]
    meeting = log(mw, [mentee], starts_at=NOW - timedelta(hours=3), minutes=60)
    with pytest.raises(CheckinError) as caught:
        attendance.check_in(MeetingOccasion(meeting), other, method=Method.SELF_SCAN, now=NOW)
    assert caught.value.code == "window_closed"


# --- a meeting not held ----------------------------------------------------------------------


def test_a_meeting_not_held_records_absent_and_is_no_contact(mw):
    one, two, _three = household_of_three(mw)
    mentorships = queries.active_mentorships(mw.mentors["an"])
    assert len(services.overdue(mentorships, now=NOW)) == 3  # 30 days, every 14
    visit = log(mw, [one, two], held=False, starts_at=NOW - timedelta(hours=1), minutes=15)
    assert not visit.held
    assert [(r.person_id, r.status) for r in rows_of(visit)] == [
        (one.id, Status.ABSENT),
        (two.id, Status.ABSENT),
    ]
    assert services.last_contacts([one.id, two.id]) == {}
    assert meetings.meeting_hours([one.id]) == {}
    late = services.overdue(mentorships, now=NOW)
    assert one.id in {s.mentorship.person_id for s in late}
    refused(
        "not_held",
        meetings.record_present,
        actor=mw.users["mentor"],
        now=NOW,
        meeting=visit,
        person=one,
        method=Method.CARD,
    )
    met = log(mw, [one], starts_at=NOW - timedelta(minutes=30), minutes=30)
    assert services.last_contacts([one.id, two.id]) == {one.id: met.starts_at}
    statuses = {s.mentorship.person_id: s for s in services.contact_statuses(mentorships, now=NOW)}
    assert not statuses[one.id].overdue and statuses[one.id].last_contact == met.starts_at
    assert statuses[two.id].overdue and statuses[two.id].last_contact is None
    # A later visit not held does not move the last contact.
    log(mw, [one], held=False, starts_at=NOW + timedelta(minutes=5))
    assert services.last_contacts([one.id]) == {one.id: met.starts_at}


def test_contact_days_come_from_the_settings(mw, app, monkeypatch):
    [person] = give(mw, mw.mentors["an"], mw.villager("Đinh Thị Lan", 1948))
    mentorships = queries.active_mentorships(mw.mentors["an"])
    log(mw, [person], starts_at=NOW - timedelta(days=3), now=NOW - timedelta(days=3))
    monkeypatch.setitem(app.config, "MENTORING_CONTACT_DAYS", {"default": 14})
    assert services.overdue(mentorships, now=NOW + timedelta(days=11)) == []
    assert len(services.overdue(mentorships, now=NOW + timedelta(days=12))) == 1
    monkeypatch.setitem(app.config, "MENTORING_CONTACT_DAYS", {"default": 14, "citizen": 2})
    [status] = services.overdue(mentorships, now=NOW)
    assert status.every_days == 2 and status.days_overdue == 1


# --- refusals --------------------------------------------------------------------------------


def test_refusals_write_nothing(seeded):
    mw = seeded
    one, two, three = household_of_three(mw)
    past = NOW - timedelta(hours=2)
    cases = [
        ("place_invalid", dict(place="street")),
        ("place_invalid", dict(place="")),
        ("minutes_invalid", dict(minutes=4)),
        ("minutes_invalid", dict(minutes=8 * 60 + 1)),
        ("minutes_invalid", dict(minutes=None)),
        ("nobody_present", dict(people=[])),
        ("attested_not_practised", dict(practised=["0.1"], attested=[(one.id, "2.3")])),
        ("attested_not_practised", dict(practised=["0.1"], attested=[(three.id, "0.1")])),
        ("not_held_attested", dict(held=False, practised=["0.1"], attested=[(one.id, "0.1")])),
        ("note_too_long", dict(note="ghi chú " * 70)),
    ]
    for code, extra in cases:
        people = extra.pop("people", [one, two])
        refused(code, log, mw, people, starts_at=past, **extra)
        db.session.rollback()
        assert counts() == (0, 0), code
    assert log(mw, [one], starts_at=past, note="x" * 500, minutes=5).note == "x" * 500
    assert log(mw, [one], starts_at=past, minutes=8 * 60).minutes == 480


def test_an_unknown_competency_is_refused(seeded):
    [person] = give(seeded, seeded.mentors["an"], seeded.villager("Đinh Thị Lan", 1948))
    error = refused("unknown_competency", log, seeded, [person], practised=["0.1", "9.9"])
    assert "9.9" in error.message
    db.session.rollback()
    assert counts() == (0, 0)


def test_who_may_log_a_meeting(mw):
    an = mw.mentors["an"]
    [person] = give(mw, an, mw.villager("Đinh Thị Lan", 1948))
    services.link_account(
        actor=mw.users["organiser"], now=NOW, mentor=mw.mentors["binh"], user=mw.users["mentor2"]
    )
    db.session.commit()
    for actor in ("mentor2", "trainer", "lead2"):
        error = refused("not_allowed", log, mw, [person], actor=actor)
        assert error.status == 403
        db.session.rollback()
        assert counts() == (0, 0), actor
    refused("not_allowed", log, mw, [person], mentor=mw.mentors["binh"])  # not An's to log
    db.session.rollback()
    assert log(mw, [person], actor="organiser").logged_by_id == mw.users["organiser"].id
    assert log(mw, [person], actor="lead").held  # the lead of Thôn 1 manages An
    services.end_mentor(actor=mw.users["organiser"], now=NOW, mentor=an)
    before = counts()
    error = refused("mentor_ended", log, mw, [person])
    assert error.status == 409
    assert counts() == before


def test_a_refused_tick_leaves_no_meeting_behind(mw):
    # E.g. a mentee assigned today ticked for yesterday's meeting: not their mentee then.
    stranger = mw.villager("Phan Văn Lạ", 1960)
    [mentee] = give(mw, mw.mentors["an"], mw.villager("Đinh Thị Lan", 1948))  # commits
    with pytest.raises(CheckinError) as caught:
        log(mw, [mentee, stranger], nonce="form-1")
    assert caught.value.code == "not_enrolled"
    db.session.rollback()
    assert counts() == (0, 0)
    # The form sent again without the stranger logs the meeting with its attendance.
    meeting = log(mw, [mentee], nonce="form-1")
    assert len(rows_of(meeting)) == 1


def test_a_confirmation_is_not_committed_by_the_service(mw):
    [mentee] = give(mw, mw.mentors["an"], mw.villager("Đinh Thị Lan", 1948))
    meeting = log(mw, [mentee], starts_at=NOW - timedelta(hours=2))
    db.session.commit()
    meetings.confirm(now=NOW, meeting_id=meeting.id, person_id=mentee.id, device_key=None)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(MeetingConfirmation)) == 0


# --- the mentee's confirmation ---------------------------------------------------------------


def test_a_mentee_confirms_an_attended_meeting_once(mw):
    one, two, three = household_of_three(mw)
    met = log(mw, [one, two], starts_at=NOW - timedelta(days=2))
    old = log(mw, [one], starts_at=NOW - timedelta(days=8), now=NOW - timedelta(days=8, hours=-2))
    log(mw, [one, three], held=False, starts_at=NOW - timedelta(days=1))
    db.session.commit()
    [due] = meetings.unconfirmed_for([one.id], now=NOW)
    assert (due.meeting_id, due.person_id, due.starts_at) == (met.id, one.id, met.starts_at)
    assert due.mentor_name == "Nguyễn Văn An"
    assert meetings.unconfirmed_for([three.id], now=NOW) == []  # not held, absent
    meetings.confirm(now=NOW, meeting_id=met.id, person_id=one.id, device_key=None)
    meetings.confirm(
        now=NOW + timedelta(minutes=1), meeting_id=met.id, person_id=one.id, device_key=None
    )
    assert db.session.scalar(select(func.count()).select_from(MeetingConfirmation)) == 1
    assert meetings.confirmed_ids([met.id, old.id]) == {met.id: {one.id}, old.id: set()}
    assert meetings.unconfirmed_for([one.id], now=NOW) == []
    assert [c.person_id for c in meetings.unconfirmed_for([one.id, two.id], now=NOW)] == [two.id]
    for meeting, person in ((met, three), (old, one)):
        error = refused(
            "not_attended",
            meetings.confirm,
            now=NOW,
            meeting_id=meeting.id,
            person_id=person.id,
            device_key=None,
        )
        assert error.status == 404
    assert db.session.scalar(select(func.count()).select_from(MeetingConfirmation)) == 1


def test_meetings_of_a_mentor_latest_first(mw):
    [person] = give(mw, mw.mentors["an"], mw.villager("Đinh Thị Lan", 1948))
    first = log(mw, [person], starts_at=NOW - timedelta(days=2))
    second = log(mw, [person], starts_at=NOW - timedelta(hours=1))
    assert [m.id for m in meetings.meetings_of(mw.mentors["an"])] == [second.id, first.id]
    since = NOW - timedelta(days=1)
    assert [m.id for m in meetings.meetings_of(mw.mentors["an"], since=since)] == [second.id]
    assert meetings.meetings_of(mw.mentors["binh"]) == []
    assert meetings.attendees([first.id]) == {first.id: {person.id: "present"}}


# --- the learner's scan page -----------------------------------------------------------------


def _csrf(client, url):
    return CSRF.search(client.get(url).get_data(as_text=True)).group(1)


def test_the_scan_page_of_a_meeting_offers_no_joining(mw, client, clock):
    clock.set(NOW)
    mentee = mw.villager("Đinh Thị Lan", 1948, phone="0905123456")
    unticked = mw.villager("Đinh Văn Nam", 1949, phone="0905765432")
    give(mw, mw.mentors["an"], mentee, unticked)
    mw.villager("Phan Văn Lạ", 1960, phone="0911222333")
    meeting = log(mw, [mentee], starts_at=NOW - timedelta(minutes=10))
    token = attendance.point_for(MeetingOccasion(meeting), now=NOW).token
    attendance_rows = counts()[1]
    db.session.commit()
    url = f"/c/{token}"
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Gặp Đại sứ số Nguyễn Văn An" in html
    assert "Xin vào lớp" not in html and 'value="ask"' not in html
    # Someone not a mentee says who they are: refused, and still no offer to join.
    response = client.post(
        url,
        data={
            "csrf_token": _csrf(client, url),
            "action": "identify",
            "phone": "0911222333",
            "birth_year": "1960",
        },
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Xin vào lớp" not in html and 'value="ask"' not in html and 'value="join"' not in html
    db.session.expire_all()
    assert counts()[1] == attendance_rows
    # A mentee not ticked yet checks in on their own phone: one row more.
    response = client.post(
        url,
        data={
            "csrf_token": _csrf(client, url),
            "action": "identify",
            "phone": "0905765432",
            "birth_year": "1949",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    db.session.expire_all()
    assert counts()[1] == attendance_rows + 1
    [row] = [r for r in rows_of(meeting) if r.person_id == unticked.id]
    assert row.method == Method.SELF_SCAN and row.status == Status.PRESENT
