"""Mentoring rules: mentors, one active mentor per mentee, ending and reassigning with the
history kept, and the flags (under the minimum, overdue, suggestions)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import NOW, make_household, make_person
from webapp.extensions import db
from webapp.mentoring import queries, services
from webapp.mentoring.models import EndReason, Mentor, MentoringError, Mentorship, Organisation


def refused(code: str, call, **kwargs):
    with pytest.raises(MentoringError) as caught:
        call(**kwargs)
    assert caught.value.code == code, caught.value
    return caught.value


def assign(mw, mentor, person, actor="organiser", now=NOW):
    return services.assign(actor=mw.users[actor], now=now, mentor=mentor, person=person)


# --- mentors -------------------------------------------------------------------------------------


def test_making_a_mentor_checks_organisation_village_and_duplicates(mw):
    person = mw.villager("Phạm Thị Dung")
    make = dict(actor=mw.users["organiser"], now=NOW, person=person)
    refused("organisation_invalid", services.make_mentor, organisation="party", **make)
    error = refused(
        "village_invalid",
        services.make_mentor,
        organisation=Organisation.SCHOOL,
        village_id=mw.other_village.id,
        **make,
    )
    assert error.status == 400
    mentor = services.make_mentor(
        organisation=Organisation.PUBLIC_SERVICE_CENTRE, counter_helper=True, **make
    )
    assert mentor.active and mentor.commune_id == person.commune_id and mentor.village_id is None
    assert mentor.home_village_id == mw.v1.id
    assert queries.has_counter_helper(person.commune_id)
    error = refused("already_mentor", services.make_mentor, organisation="school", **make)
    assert error.status == 409 and "Phạm Thị Dung" in error.message


def test_there_is_no_counter_helper_until_one_is_marked(mw):
    assert not queries.has_counter_helper(mw.v1.commune_id)
    mw.mentor("Phạm Thị Dung", counter_helper=True)
    assert queries.has_counter_helper(mw.v1.commune_id)


def test_ending_a_mentor_ends_their_mentorships_and_a_new_start_reopens_the_record(mw):
    an = mw.mentors["an"]
    first, second = mw.villager("Hồ Thị Một", 1950), mw.villager("Hồ Văn Hai", 1951)
    assign(mw, an, first), assign(mw, an, second)
    ended = services.end_mentor(actor=mw.users["organiser"], now=NOW, mentor=an, note="Đi học xa")
    assert {m.person_id for m in ended} == {first.id, second.id}
    assert all(m.end_reason == EndReason.STOPPED and m.end_note == "Đi học xa" for m in ended)
    assert not an.active and an.ended_by_id == mw.users["organiser"].id
    assert not services.under_minimum(an)  # a former mentor is not flagged
    refused("mentor_ended", services.end_mentor, actor=mw.users["organiser"], now=NOW, mentor=an)
    refused("mentor_ended", assign, mw=mw, mentor=an, person=mw.villager("Hồ Văn Ba"))
    # Made a mentor again: the same record (mentorships keep pointing at it), active again.
    again = services.make_mentor(
        actor=mw.users["organiser"],
        now=NOW + timedelta(days=30),
        person=an.person,
        organisation=Organisation.SCHOOL,
    )
    assert again.id == an.id and again.active and again.organisation == "school"
    assert db.session.scalar(select(func.count()).select_from(Mentor)) == 3


def test_a_login_is_linked_only_with_the_mentor_role_of_the_same_commune(mw):
    binh = mw.mentors["binh"]
    link = dict(actor=mw.users["organiser"], now=NOW, mentor=binh)
    refused("not_mentor_role", services.link_account, user=mw.users["trainer"], **link)
    refused("account_linked", services.link_account, user=mw.users["mentor"], **link)
    error = refused(
        "not_allowed",
        services.link_account,
        **{**link, "actor": mw.users["lead"]},
        user=mw.users["mentor2"],
    )
    assert error.status == 403
    services.link_account(user=mw.users["mentor2"], **link)
    assert binh.user_id == mw.users["mentor2"].id
    services.link_account(user=None, **link)
    assert binh.user_id is None


def test_a_login_of_another_commune_is_refused(mw):
    from tests.factories import make_user
    from webapp.people.models import Commune

    other = db.session.get(Commune, mw.other_village.commune_id)
    stranger = make_user("mentor.khac", "mentor", other)
    refused(
        "other_commune",
        services.link_account,
        actor=mw.users["admin"],
        now=NOW,
        mentor=mw.mentors["binh"],
        user=stranger,
    )


# --- the minimum ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("mentees", "flagged"), [(4, True), (5, False), (6, False)])
def test_a_mentor_under_five_mentees_is_flagged(mw, mentees, flagged):
    an = mw.mentors["an"]
    for i in range(mentees):
        assign(mw, an, mw.villager(f"Học Viên Số {i}", 1950 + i))
    assert queries.active_mentee_count(an) == mentees
    assert services.under_minimum(an) is flagged
    counts = queries.active_mentee_counts([an.id, mw.mentors["binh"].id])
    assert counts == {an.id: mentees}
    assert services.under_minimum(mw.mentors["binh"], counts.get(mw.mentors["binh"].id, 0))


def test_the_minimum_is_a_setting(mw, app, monkeypatch):
    an = mw.mentors["an"]
    for i in range(3):
        assign(mw, an, mw.villager(f"Học Viên Số {i}"))
    assert services.under_minimum(an)
    monkeypatch.setitem(app.config, "MENTORING_MIN_MENTEES", 3)
    assert not services.under_minimum(an)


def test_an_ended_mentorship_no_longer_counts(mw):
    an = mw.mentors["an"]
    mentorships = [assign(mw, an, mw.villager(f"Học Viên Số {i}")) for i in range(5)]
    assert not services.under_minimum(an)
    services.end_mentorship(
        actor=mw.users["organiser"], now=NOW, mentorship=mentorships[0], reason="moved_away"
    )
    assert services.under_minimum(an)


# --- one active mentor per mentee ----------------------------------------------------------------


def test_a_second_active_mentor_is_refused(mw):
    person = mw.villager("Đinh Thị Hoa", 1948)
    assign(mw, mw.mentors["an"], person)
    error = refused("already_mentored", assign, mw=mw, mentor=mw.mentors["binh"], person=person)
    assert error.status == 409 and "Nguyễn Văn An" in error.message
    refused("already_mentored", assign, mw=mw, mentor=mw.mentors["an"], person=person)


def test_the_database_refuses_a_second_active_mentorship_the_check_missed(mw, monkeypatch):
    # Two assignments racing both pass the check; the partial unique index stops the second,
    # and the refusal is the same. The first stays, and the session is still usable.
    person = mw.villager("Đinh Thị Hoa", 1948)
    first = assign(mw, mw.mentors["an"], person)
    db.session.commit()
    real = queries.active_mentorship_of
    calls = []

    def missed_once(person_id):
        calls.append(person_id)
        return None if len(calls) == 1 else real(person_id)

    monkeypatch.setattr(queries, "active_mentorship_of", missed_once)
    error = refused("already_mentored", assign, mw=mw, mentor=mw.mentors["binh"], person=person)
    assert len(calls) == 2 and "Nguyễn Văn An" in error.message
    db.session.commit()
    active = db.session.scalars(select(Mentorship).where(Mentorship.active)).all()
    assert [m.id for m in active] == [first.id]


def test_an_ended_mentorship_leaves_room_for_a_new_one(mw):
    person = mw.villager("Đinh Thị Hoa", 1948)
    old = assign(mw, mw.mentors["an"], person)
    services.end_mentorship(actor=mw.users["organiser"], now=NOW, mentorship=old, reason="stopped")
    new = assign(mw, mw.mentors["binh"], person, now=NOW + timedelta(days=1))
    assert new.id != old.id and new.active and not old.active


def test_services_leave_the_commit_to_the_caller(mw):
    # On SQLite a savepoint outside a transaction would commit when released.
    person = mw.villager("Đinh Thị Hoa", 1948)
    db.session.commit()
    assign(mw, mw.mentors["an"], person)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Mentorship)) == 0
    services.make_mentor(actor=mw.users["organiser"], now=NOW, person=person, organisation="school")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Mentor)) == 3


def test_nobody_mentors_themselves_or_across_communes(mw):
    an = mw.mentors["an"]
    refused("self_mentoring", assign, mw=mw, mentor=an, person=an.person)
    far = make_person(mw.other_village, "Y Khác", 1950)
    refused("other_commune", assign, mw=mw, mentor=an, person=far)
    refused("other_commune", assign, mw=mw, mentor=an, person=far, actor="admin")


def test_a_household_is_assigned_at_once_and_says_who_was_skipped(mw):
    an = mw.mentors["an"]
    home = make_household(mw.v1, "T1-001")
    grandma = mw.villager("Võ Thị Bà", 1945, household=home)
    father = mw.villager("Võ Văn Cha", 1975, household=home)
    child = mw.villager("Võ Thị Con", 2005, household=home)
    assign(mw, mw.mentors["binh"], father)
    an.person.household = home  # the mentor lives there too
    db.session.flush()
    db.session.expire(home)
    result = services.assign_household(
        actor=mw.users["organiser"], now=NOW, mentor=an, household=home
    )
    assert [m.person_id for m in result.assigned] == [grandma.id, child.id]  # oldest first
    assert {(s.person.id, s.code) for s in result.skipped} == {
        (father.id, "already_mentored"),
        (an.person_id, "self_mentoring"),
    }
    again = services.assign_household(
        actor=mw.users["organiser"], now=NOW, mentor=an, household=home
    )
    assert again.assigned == [] and len(again.skipped) == 4


# --- ending and reassigning keep the history ------------------------------------------------------


def test_ending_needs_a_reason_and_keeps_the_record(mw):
    person = mw.villager("Đinh Thị Hoa", 1948)
    mentorship = assign(mw, mw.mentors["an"], person)
    end = dict(actor=mw.users["organiser"], now=NOW + timedelta(days=60), mentorship=mentorship)
    refused("reason_invalid", services.end_mentorship, reason="bored", **end)
    refused("reason_invalid", services.end_mentorship, reason="reassigned", **end)
    refused("note_too_long", services.end_mentorship, reason="finished", note="x" * 501, **end)
    services.end_mentorship(reason="finished", note="  Tự dùng VNeID được  ", **end)
    assert (mentorship.end_reason, mentorship.end_note) == ("finished", "Tự dùng VNeID được")
    assert mentorship.ended_at == NOW + timedelta(days=60)
    assert mentorship.ended_by_id == mw.users["organiser"].id
    refused("mentorship_ended", services.end_mentorship, reason="finished", **end)
    assert queries.history_of(mw.users["organiser"], person) == [mentorship]


def test_reassigning_ends_the_old_and_starts_the_new_keeping_both(mw):
    person = mw.villager("Đinh Thị Hoa", 1948)
    old = assign(mw, mw.mentors["an"], person)
    later = NOW + timedelta(days=20)
    move = dict(actor=mw.users["organiser"], now=later, mentorship=old)
    refused("same_mentor", services.reassign, new_mentor=mw.mentors["an"], **move)
    new = services.reassign(new_mentor=mw.mentors["binh"], note="Gần nhà hơn", **move)
    db.session.commit()
    assert (old.ended_at, old.end_reason, old.end_note) == (later, "reassigned", "Gần nhà hơn")
    assert (new.mentor_id, new.started_at, new.active) == (mw.mentors["binh"].id, later, True)
    assert queries.active_mentorship_of(person.id) == new
    history = queries.history_of(mw.users["organiser"], person)
    assert history == [new, old]
    assert [m.mentor.person.full_name for m in history] == ["Trần Thị Bình", "Nguyễn Văn An"]
    refused("mentorship_ended", services.reassign, new_mentor=mw.mentors["cuong"], **move)


def test_reassigning_to_an_ended_mentor_changes_nothing(mw):
    person = mw.villager("Đinh Thị Hoa", 1948)
    old = assign(mw, mw.mentors["an"], person)
    services.end_mentor(actor=mw.users["organiser"], now=NOW, mentor=mw.mentors["binh"])
    refused(
        "mentor_ended",
        services.reassign,
        actor=mw.users["organiser"],
        now=NOW,
        mentorship=old,
        new_mentor=mw.mentors["binh"],
    )
    assert old.active


# --- overdue -------------------------------------------------------------------------------------

START = datetime(2025, 11, 1, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam


def test_a_mentee_is_overdue_after_the_expected_days_without_a_held_contact(mw):
    mentorship = assign(mw, mw.mentors["an"], mw.villager("Đinh Thị Hoa", 1948), now=START)
    on_time = services.overdue([mentorship], now=START + timedelta(days=14), last_contact={})
    assert on_time == []
    (late,) = services.overdue([mentorship], now=START + timedelta(days=15), last_contact={})
    assert (late.days_since, late.every_days, late.days_overdue) == (15, 14, 1)
    assert late.due_on == datetime(2025, 11, 15).date() and late.last_contact is None
    # A held contact on day 10 moves the due day.
    met = {mentorship.person_id: START + timedelta(days=10)}
    assert services.overdue([mentorship], now=START + timedelta(days=24), last_contact=met) == []
    (late,) = services.overdue([mentorship], now=START + timedelta(days=25), last_contact=met)
    assert late.last_contact == START + timedelta(days=10) and late.days_since == 15


def test_overdue_counts_vietnam_days(mw):
    # Started at 23:30 on 1/11 in Vietnam; 00:30 on 16/11 is day 15 although only 14 days and
    # one hour have passed.
    start = datetime(2025, 11, 1, 16, 30, tzinfo=UTC)
    mentorship = assign(mw, mw.mentors["an"], mw.villager("Đinh Thị Hoa", 1948), now=start)
    now = datetime(2025, 11, 15, 17, 30, tzinfo=UTC)
    assert [s.days_since for s in services.overdue([mentorship], now=now, last_contact={})] == [15]


def test_the_frequency_is_set_per_target_group(mw, app, monkeypatch):
    monkeypatch.setitem(app.config, "MENTORING_CONTACT_DAYS", {"default": 14, "student": 7})
    adult = assign(mw, mw.mentors["an"], mw.villager("Đinh Thị Hoa", 1948), now=START)
    pupil = mw.villager("Đinh Văn Em", 2012, target_group="student")
    student = assign(mw, mw.mentors["an"], pupil, now=START)
    found = services.overdue([adult, student], now=START + timedelta(days=8), last_contact={})
    assert [(s.mentorship, s.every_days) for s in found] == [(student, 7)]
    statuses = services.contact_statuses(
        [adult, student], now=START + timedelta(days=20), last_contact={}
    )
    # The most overdue first: the student is 13 days over, the adult 6.
    assert [(s.mentorship, s.days_overdue) for s in statuses] == [(student, 13), (adult, 6)]


def test_a_contact_before_the_mentorship_started_does_not_count(mw):
    person = mw.villager("Đinh Thị Hoa", 1948)
    mentorship = assign(mw, mw.mentors["an"], person, now=START)
    earlier = {person.id: START - timedelta(days=30)}
    now = START + timedelta(days=14)
    assert services.overdue([mentorship], now=now, last_contact=earlier) == []


def test_ended_mentorships_are_never_overdue_and_contacts_default_to_none_yet(mw):
    mentorship = assign(mw, mw.mentors["an"], mw.villager("Đinh Thị Hoa", 1948), now=START)
    assert services.last_contacts([mentorship.person_id]) == {}
    (late,) = services.overdue([mentorship], now=START + timedelta(days=30))
    assert late.mentorship == mentorship
    services.end_mentorship(
        actor=mw.users["organiser"], now=START, mentorship=mentorship, reason="stopped"
    )
    assert services.overdue([mentorship], now=START + timedelta(days=30)) == []


# --- suggestions ---------------------------------------------------------------------------------


def _suggestion_village(mw):
    """Thôn 1's villagers, by name: who should come first for a mentor under the minimum."""
    poor = make_household(mw.v1, "T1-010", is_poor=True)
    plain = make_household(mw.v1, "T1-020")
    people = {
        # a poor household: the grandmother is older and poor (2), the others poor (1)
        "bà Lan": mw.villager("Hà Thị Lan", 1950, household=poor),
        "anh Tú": mw.villager("Hà Văn Tú", 1990, household=poor),
        "cháu Mai": mw.villager("Hà Thị Mai", 2010, household=poor),
        # alone: older with a disability (2)
        "ông Sáu": mw.villager("Lý Văn Sáu", 1940, disability="vision"),
        # a household with one person with a disability (1)
        "chị Hạnh": mw.villager("Mai Thị Hạnh", 1985, household=plain, disability="mobility"),
        "anh Đức": mw.villager("Mai Văn Đức", 1988, household=plain),
        # alone, in no priority segment (0)
        "em Vy": mw.villager("Tạ Thị Vy", 1995),
    }
    # never suggested: already mentored, of another village, another mentor
    mentored = mw.villager("Châu Văn Già", 1930)
    assign(mw, mw.mentors["binh"], mentored)
    mw.villager("Thôn Hai Cụ", 1935, village=mw.v2)
    return people


def _names(found):
    return [[p.full_name for p in s.people] for s in found]


def test_suggestions_put_priority_first_and_keep_households_together(mw):
    people = _suggestion_village(mw)
    found = services.suggestions(mw.mentors["an"], now=NOW, limit=10)
    assert _names(found) == [
        ["Hà Thị Lan", "Hà Thị Mai", "Hà Văn Tú"],  # the poor household, by given name
        ["Lý Văn Sáu"],
        ["Mai Văn Đức", "Mai Thị Hạnh"],
        ["Tạ Thị Vy"],
    ]
    assert [s.priority for s in found] == [2, 2, 1, 0]
    assert found[0].household.code == "T1-010" and found[1].household is None
    assert {p.id for s in found for p in s.people} == {p.id for p in people.values()}


def test_suggestions_count_households_and_leave_out_the_mentored(mw):
    people = _suggestion_village(mw)
    assign(mw, mw.mentors["binh"], people["bà Lan"])
    found = services.suggestions(mw.mentors["an"], now=NOW, limit=2)
    # Without the grandmother the poor household scores 1: the older man comes first.
    assert _names(found) == [["Lý Văn Sáu"], ["Hà Thị Mai", "Hà Văn Tú"]]


def test_suggestions_come_from_the_mentors_village(mw):
    _suggestion_village(mw)
    found = services.suggestions(mw.mentors["cuong"], now=NOW)
    assert _names(found) == [["Thôn Hai Cụ"]]  # Thôn 2, where Cường works


def test_a_mentor_is_never_suggested(mw):
    found = services.suggestions(mw.mentors["an"], now=NOW)
    assert found == []  # Thôn 1 holds only mentors so far
