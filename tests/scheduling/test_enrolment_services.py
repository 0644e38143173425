"""Enrolment rules: seats, the waiting list served in order, households, withdrawal with a
reason, and public sign-up requests matched to the registry."""

import unicodedata
from datetime import timedelta

import pytest

from tests.factories import NOW, make_course, make_household, make_person, make_user
from webapp.accounts.models import User
from webapp.errors import DomainError
from webapp.extensions import db
from webapp.people.models import Commune, Person, Village
from webapp.permissions import Role
from webapp.scheduling import enrolment as rules
from webapp.scheduling import services
from webapp.scheduling.models import (
    ClassStatus,
    CourseClass,
    Enrolment,
    EnrolmentStatus,
    SignupRequest,
    SignupStatus,
)


def later(minutes: int):
    return NOW + timedelta(minutes=minutes)


@pytest.fixture
def ctx(app, world):
    """A class of 2 seats trained by ``trainer``, and the people of Thôn 1 and Thôn 2."""
    with app.app_context():
        trainer = db.session.get(User, world.users["trainer"])
        course = make_course(world.commune_id, trainer.id)
        course_class = services.create_class(
            actor=trainer,
            now=NOW,
            course=course,
            trainer_ids=[],
            name="Lớp A",
            capacity=2,
            status=ClassStatus.OPEN,
            public_signup=True,
        )
        v1, v2 = (db.session.get(Village, i) for i in world.village_ids)
        yield {
            "trainer": trainer,
            "organiser": db.session.get(User, world.users["organiser"]),
            "class": course_class,
            "v1": v1,
            "v2": v2,
            "other_village": db.session.get(Village, world.other_village_id),
        }
        db.session.rollback()


def enrol(ctx, person, minutes=0, actor=None):
    return rules.enrol(
        actor=actor or ctx["trainer"], now=later(minutes), course_class=ctx["class"], person=person
    )


def code_of(excinfo) -> str:
    return excinfo.value.code


# --- seats and the waiting list ------------------------------------------------------------------


def test_seats_then_waiting_list_when_full(ctx):
    people = [make_person(ctx["v1"], f"Người Số {i}", 1950 + i) for i in range(3)]
    statuses = [enrol(ctx, p, i).status for i, p in enumerate(people)]
    assert statuses == [EnrolmentStatus.ENROLLED, EnrolmentStatus.ENROLLED, EnrolmentStatus.WAITING]
    assert rules.seats_taken(ctx["class"]) == 2


def test_freed_seat_goes_to_the_first_person_waiting(ctx):
    a, b, c, d = (make_person(ctx["v1"], name, 1955) for name in ("An", "Bình", "Cúc", "Dũng"))
    first, _second = enrol(ctx, a, 0), enrol(ctx, b, 1)
    enrol(ctx, d, 2)  # Dũng waits first, though his name sorts last
    enrol(ctx, c, 3)
    promoted = rules.unenrol(
        actor=ctx["trainer"], now=later(10), enrolment=first, reason="Chuyển đi nơi khác"
    )
    assert promoted.person_id == d.id and promoted.status == EnrolmentStatus.ENROLLED
    statuses = {e.person_id: e.status for e in db.session.scalars(db.select(Enrolment))}
    assert statuses == {a.id: "withdrawn", b.id: "enrolled", d.id: "enrolled", c.id: "waiting"}
    withdrawn = db.session.scalar(db.select(Enrolment).where(Enrolment.person_id == a.id))
    assert withdrawn.withdrawn_reason == "Chuyển đi nơi khác"
    assert withdrawn.withdrawn_by_id == ctx["trainer"].id


def test_withdrawing_a_waiting_person_promotes_nobody(ctx):
    a, b, c = (make_person(ctx["v1"], name, 1955) for name in ("An", "Bình", "Cúc"))
    enrol(ctx, a, 0), enrol(ctx, b, 1)
    waiting = enrol(ctx, c, 2)
    assert rules.unenrol(actor=ctx["trainer"], now=later(5), enrolment=waiting, reason="Ốm") is None
    assert rules.seats_taken(ctx["class"]) == 2


def test_a_reason_is_required_to_withdraw(ctx):
    enrolment = enrol(ctx, make_person(ctx["v1"], "Lê Văn Tám", 1950))
    with pytest.raises(DomainError) as excinfo:
        rules.unenrol(actor=ctx["trainer"], now=later(1), enrolment=enrolment, reason="  ")
    assert code_of(excinfo) == "reason_missing"
    assert enrolment.status == EnrolmentStatus.ENROLLED


def test_withdrawn_person_cannot_be_withdrawn_again_but_may_come_back(ctx):
    person = make_person(ctx["v1"], "Lê Văn Tám", 1950)
    enrolment = enrol(ctx, person)
    rules.unenrol(actor=ctx["trainer"], now=later(1), enrolment=enrolment, reason="Bận việc")
    with pytest.raises(DomainError) as excinfo:
        rules.unenrol(actor=ctx["trainer"], now=later(2), enrolment=enrolment, reason="Lại")
    assert code_of(excinfo) == "not_enrolled"
    again = enrol(ctx, person, 3)
    assert again.id == enrolment.id and again.status == EnrolmentStatus.ENROLLED
    assert again.withdrawn_reason == ""


def test_nobody_is_enrolled_twice(ctx):
    person = make_person(ctx["v1"], "Lê Văn Tám", 1950)
    enrol(ctx, person)
    with pytest.raises(DomainError) as excinfo:
        enrol(ctx, person, 1)
    assert code_of(excinfo) == "already_enrolled"


def test_closed_class_and_other_commune_are_refused(ctx):
    outsider = make_person(ctx["other_village"], "Người Xã Khác", 1960)
    with pytest.raises(DomainError) as excinfo:
        enrol(ctx, outsider)
    assert code_of(excinfo) == "person_other_commune"
    ctx["class"].status = ClassStatus.FINISHED
    with pytest.raises(DomainError) as excinfo:
        enrol(ctx, make_person(ctx["v1"], "Lê Văn Tám", 1950))
    assert code_of(excinfo) == "class_closed"


def test_only_the_class_trainers_or_an_organiser_enrol(ctx, world):
    other_trainer = make_user("gv.khac", Role.TRAINER, db.session.get(Commune, world.commune_id))
    with pytest.raises(DomainError) as excinfo:
        enrol(ctx, make_person(ctx["v1"], "Lê Văn Tám", 1950), actor=other_trainer)
    assert code_of(excinfo) == "not_allowed" and excinfo.value.status == 403
    assert enrol(ctx, make_person(ctx["v1"], "Lê Thị Chín", 1951), actor=ctx["organiser"])


def test_free_seat_while_people_wait_goes_to_them_not_to_a_newcomer(ctx):
    """A seat freed outside the rules (capacity edited in the database) is still served in
    order: the newcomer queues behind the person already waiting."""
    a, b, c, d = (make_person(ctx["v1"], name, 1955) for name in ("An", "Bình", "Cúc", "Dũng"))
    enrol(ctx, a, 0), enrol(ctx, b, 1)
    waiting = enrol(ctx, c, 2)
    ctx["class"].capacity = 3
    db.session.flush()
    newcomer = enrol(ctx, d, 3)
    assert waiting.status == EnrolmentStatus.ENROLLED
    assert newcomer.status == EnrolmentStatus.WAITING


def test_more_seats_promote_the_waiting_list_in_order(ctx):
    people = [make_person(ctx["v1"], f"Người {i}", 1950) for i in range(5)]
    enrolments = [enrol(ctx, p, i) for i, p in enumerate(people)]
    services.update_class(
        actor=ctx["trainer"], now=later(10), course_class=ctx["class"], capacity=4
    )
    assert [e.status for e in enrolments] == ["enrolled"] * 4 + ["waiting"]


def test_no_promotion_into_a_cancelled_class(ctx):
    a, b, c = (make_person(ctx["v1"], name, 1955) for name in ("An", "Bình", "Cúc"))
    first = enrol(ctx, a, 0)
    enrol(ctx, b, 1)
    waiting = enrol(ctx, c, 2)
    services.update_class(
        actor=ctx["trainer"], now=later(5), course_class=ctx["class"], status=ClassStatus.CANCELLED
    )
    assert (
        rules.unenrol(actor=ctx["trainer"], now=later(6), enrolment=first, reason="Lớp hủy") is None
    )
    assert waiting.status == EnrolmentStatus.WAITING


# --- households ----------------------------------------------------------------------------------


def test_enrol_household_oldest_first_then_waiting(ctx):
    household = make_household(ctx["v1"], "T1-009")
    young = make_person(ctx["v1"], "Trần Văn Con", 1990, household=household)
    old = make_person(ctx["v1"], "Trần Văn Ông", 1945, household=household)
    middle = make_person(ctx["v1"], "Trần Thị Mẹ", 1965, household=household)
    added = rules.enrol_household(
        actor=ctx["trainer"], now=later(1), course_class=ctx["class"], household=household
    )
    assert [(e.person_id, e.status) for e in added] == [
        (old.id, "enrolled"),
        (middle.id, "enrolled"),
        (young.id, "waiting"),
    ]
    again = rules.enrol_household(
        actor=ctx["trainer"], now=later(2), course_class=ctx["class"], household=household
    )
    assert again == []


def test_enrol_household_checks_the_actor_even_when_all_are_in(ctx, world):
    household = make_household(ctx["v1"], "T1-010")
    person = make_person(ctx["v1"], "Trần Văn Một", 1950, household=household)
    enrol(ctx, person)
    mentor = db.session.get(User, world.users["mentor"])
    with pytest.raises(DomainError) as excinfo:
        rules.enrol_household(
            actor=mentor, now=later(1), course_class=ctx["class"], household=household
        )
    assert code_of(excinfo) == "not_allowed"


# --- public sign-up ------------------------------------------------------------------------------


def signup(ctx, name="Nguyễn Thị Hồng Nhung", year=1958, village=None, phone="", **extra):
    village = village or ctx["v1"]
    return rules.submit_signup(
        now=later(1),
        course_class=ctx["class"],
        full_name=name,
        birth_year=year,
        village_id=village.id,
        phone=phone,
        **extra,
    )


def test_signup_matches_an_existing_person_whatever_the_accent_encoding(ctx):
    existing = make_person(ctx["v1"], "Nguyễn Thị Hồng Nhung", 1958)
    request = signup(ctx, name=unicodedata.normalize("NFD", "nguyễn thị  hồng nhung"))
    assert request.full_name == unicodedata.normalize("NFC", "nguyễn thị hồng nhung")
    assert rules.match_person(request).id == existing.id
    enrolment = rules.confirm_signup(actor=ctx["trainer"], now=later(5), signup=request)
    assert enrolment.person_id == existing.id
    assert request.status == SignupStatus.CONFIRMED and request.person_id == existing.id
    assert db.session.scalar(db.select(db.func.count()).select_from(Person)) == 1


def test_signup_of_someone_unknown_registers_a_new_person_on_confirm(ctx):
    make_person(ctx["v1"], "Nguyễn Thị Hồng Nhung", 1958)
    request = signup(ctx, year=1959, phone="0905 123 456")  # another birth year: not her
    assert rules.match_person(request) is None
    enrolment = rules.confirm_signup(actor=ctx["trainer"], now=later(5), signup=request)
    person = enrolment.person
    assert person.birth_year == 1959 and person.village_id == ctx["v1"].id
    assert person.phone == "0905123456" and person.consent_on is not None
    assert person.consent_recorded_by_id == ctx["trainer"].id
    assert enrolment.status == EnrolmentStatus.ENROLLED


def test_phone_and_birth_year_alone_do_not_match_a_spouse(ctx):
    make_person(ctx["v1"], "Trần Văn Chồng", 1958, phone="0905123456")
    request = signup(ctx, name="Lê Thị Vợ", phone="0905123456")
    assert rules.match_person(request) is None


def test_same_name_and_phone_match_someone_who_chose_another_village(ctx):
    existing = make_person(ctx["v1"], "Trần Văn Chồng", 1958, phone="0905123456")
    request = signup(ctx, name="Trần Văn Chồng", village=ctx["v2"], phone="0905-123-456")
    assert rules.match_person(request).id == existing.id


def test_the_same_request_twice_is_recorded_once(ctx):
    first = signup(ctx)
    second = signup(ctx, name="NGUYỄN THỊ HỒNG NHUNG", phone="0905123456")
    assert second.id == first.id and first.phone == "0905123456"


def test_reject_then_no_second_decision(ctx):
    request = signup(ctx)
    rules.reject_signup(actor=ctx["trainer"], now=later(2), signup=request)
    assert request.status == SignupStatus.REJECTED and request.decided_by_id == ctx["trainer"].id
    with pytest.raises(DomainError) as excinfo:
        rules.confirm_signup(actor=ctx["trainer"], now=later(3), signup=request)
    assert code_of(excinfo) == "signup_decided"
    assert db.session.scalar(db.select(db.func.count()).select_from(Enrolment)) == 0


def test_confirming_when_the_class_is_full_puts_them_on_the_waiting_list(ctx):
    enrol(ctx, make_person(ctx["v1"], "An", 1950)), enrol(ctx, make_person(ctx["v1"], "Bình", 1950))
    enrolment = rules.confirm_signup(actor=ctx["trainer"], now=later(5), signup=signup(ctx))
    assert enrolment.status == EnrolmentStatus.WAITING


def test_confirm_in_a_finished_class_registers_nobody(ctx):
    request = signup(ctx)
    ctx["class"].status = ClassStatus.FINISHED
    with pytest.raises(DomainError) as excinfo:
        rules.confirm_signup(actor=ctx["trainer"], now=later(5), signup=request)
    assert code_of(excinfo) == "class_closed"
    assert db.session.scalar(db.select(db.func.count()).select_from(Person)) == 0


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"village": "other"}, "village_invalid"),
        ({"year": 1850}, "birth_year_invalid"),
        ({"name": "  "}, "name_missing"),
        ({"name": "A" * 121}, "name_too_long"),
        ({"phone": "12"}, "phone_invalid"),
        ({"consent": False}, "consent_missing"),
    ],
)
def test_bad_signups_are_refused(ctx, change, expected):
    if change.get("village") == "other":
        change["village"] = ctx["other_village"]
    with pytest.raises(DomainError) as excinfo:
        signup(ctx, **change)
    assert code_of(excinfo) == expected
    assert db.session.scalar(db.select(db.func.count()).select_from(SignupRequest)) == 0


@pytest.mark.parametrize(
    ("public", "status"), [(False, "open"), (True, "finished"), (True, "cancelled")]
)
def test_signup_closed_without_public_page_or_after_the_class(ctx, public, status):
    course_class: CourseClass = ctx["class"]
    course_class.public_signup, course_class.status = public, status
    with pytest.raises(DomainError) as excinfo:
        signup(ctx)
    assert code_of(excinfo) == "signup_closed" and excinfo.value.status == 404
