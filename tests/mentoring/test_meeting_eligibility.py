"""Meetings in the certificate's eligibility: a mentor's attestation is evidence (kind
mentor, with the mentor's name), and meeting hours count toward the rule's hours only when
the group's rule says so (``meeting_hours_count``, default no), which ``hours_note`` tells."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import NOW, make_class, make_course, make_session
from webapp.checkin.models import Attendance, OccasionKind
from webapp.extensions import db
from webapp.learning import eligibility
from webapp.learning.framework import seed_framework
from webapp.learning.models import Evidence, EvidenceKind
from webapp.mentoring import services
from webapp.mentoring.meetings import MeetingDetails, log_meeting
from webapp.scheduling.models import Enrolment

SINCE = NOW - timedelta(days=30)


@pytest.fixture
def ew(mw):
    """The mentoring world with the draft framework, a class of the course "0.1, 2.3" with
    one past 2-hour session, and two of An's mentees enrolled in it (Lan attended)."""
    seed_framework(NOW - timedelta(days=60))
    trainer = mw.users["trainer"]
    course = make_course(mw.v1.commune_id, trainer.id)
    course.competency_codes = ["0.1", "2.3"]
    course_class = make_class(course, [trainer], village_id=mw.v1.id)
    session = make_session(course_class, NOW - timedelta(days=7))
    lan, nam = mw.villager("Đinh Thị Lan", 1948), mw.villager("Đinh Văn Nam", 1949)
    for person in (lan, nam):
        db.session.add(
            Enrolment(course_class=course_class, person=person, status="enrolled", since=SINCE)
        )
        services.assign(
            actor=mw.users["organiser"], now=SINCE, mentor=mw.mentors["an"], person=person
        )
    db.session.add(
        Attendance(
            occasion_kind=OccasionKind.SESSION,
            occasion_id=session.id,
            person_id=lan.id,
            status="present",
            method="roster",
            recorded_at=session.starts_at,
            updated_at=session.starts_at,
        )
    )
    db.session.commit()
    mw.course_class, mw.lan, mw.nam = course_class, lan, nam
    return mw


def log(ew, people, *, minutes=60, starts_at=None, **extra):
    return log_meeting(
        actor=ew.users["mentor"],
        now=NOW,
        mentor=ew.mentors["an"],
        details=MeetingDetails(
            people=list(people),
            minutes=minutes,
            place="home",
            starts_at=starts_at or NOW - timedelta(days=1),
            **extra,
        ),
    )


def check(ew, person):
    return eligibility.check(person, ew.course_class, now=NOW)


def test_an_attestation_is_mentor_evidence_and_counts_for_the_certificate(ew):
    lan, nam = ew.lan, ew.nam
    assert check(ew, lan).missing == ["0.1", "2.3"]
    meeting = log(ew, [lan, nam], practised=["2.3", "0.1"], attested=[(lan.id, "2.3")])
    assert meeting.competency_codes == ["0.1", "2.3"]  # framework order
    [evidence] = db.session.scalars(
        select(Evidence).where(Evidence.person_id.in_([lan.id, nam.id]))
    )
    assert (evidence.person_id, evidence.competency_code) == (lan.id, "2.3")
    assert evidence.kind == EvidenceKind.MENTOR and evidence.class_id is None
    assert evidence.detail["mentor_name"] == "Nguyễn Văn An"
    assert evidence.detail["meeting_id"] == meeting.id
    assert evidence.detail["mentor_id"] == ew.mentors["an"].id
    assert evidence.recorded_by_id == ew.users["mentor"].id and evidence.recorded_at == NOW
    result = check(ew, lan)
    assert result.missing == ["0.1"] and "2.3" in result.achieved
    assert check(ew, nam).missing == ["0.1", "2.3"]  # practised, not attested
    # Logged by the organiser for An: still An's attestation.
    log_meeting(
        actor=ew.users["organiser"],
        now=NOW,
        mentor=ew.mentors["an"],
        details=MeetingDetails(
            people=[nam], minutes=30, place="phone", practised=["0.1"], attested=[(nam.id, "0.1")]
        ),
    )
    evidence = db.session.scalar(select(Evidence).where(Evidence.person_id == nam.id))
    assert evidence.detail["mentor_name"] == "Nguyễn Văn An"
    assert evidence.recorded_by_id == ew.users["organiser"].id
    assert check(ew, nam).missing == ["2.3"]


def test_meeting_hours_do_not_count_by_default_and_the_note_says_so(ew):
    lan = ew.lan
    log(ew, [lan], minutes=90)
    log(ew, [lan], minutes=120, held=False, starts_at=NOW - timedelta(hours=5))  # no contact
    log(ew, [ew.nam], minutes=60)  # someone else's meeting
    result = check(ew, lan)
    assert result.rule is not None and not result.rule.meeting_hours_count
    assert result.hours == 2 and result.meeting_hours == 1.5
    assert result.hours_short == max(0.0, result.rule.min_hours - 2)
    assert result.hours_note == "1,5 giờ gặp Đại sứ số không được tính cho nhóm này"
    nam = check(ew, ew.nam)
    assert nam.hours == 0 and nam.meeting_hours == 1 and "không được tính" in nam.hours_note


def test_meeting_hours_count_when_the_rule_says_so(ew):
    lan = ew.lan
    log(ew, [lan], minutes=90)
    log(ew, [lan], minutes=120, held=False, starts_at=NOW - timedelta(hours=5))
    rule = check(ew, lan).rule
    rule.meeting_hours_count = True
    db.session.commit()
    result = check(ew, lan)
    assert result.hours == 3.5 and result.meeting_hours == 1.5
    assert result.hours_short == max(0.0, round(rule.min_hours - 3.5, 2))
    assert result.hours_note == "gồm 1,5 giờ gặp Đại sứ số"
    by_class = {e.person.id: e for e in eligibility.for_class(ew.course_class, now=NOW)}
    assert by_class[lan.id].hours == 3.5 and by_class[lan.id].hours_note == result.hours_note
    rule.meeting_hours_count = False
    db.session.commit()
    assert check(ew, lan).hours == 2


def test_a_learner_without_meetings_has_no_note(ew):
    result = check(ew, ew.lan)
    assert result.meeting_hours == 0 and result.hours_note == "" and result.hours == 2
