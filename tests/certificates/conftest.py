"""A finished class with three learners, and the framework replaced by a stand-in.

The eligibility rule is webapp.learning's (tested there); here it is a fixed answer per
learner, put in place of the three seams of webapp.certificates.services. The signer's name
is configured for every test here (``SIGNER``; nothing is issued without one), except where a
test takes it away.
"""

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from tests.factories import NOW, make_class, make_course, make_person
from webapp.accounts.models import User
from webapp.certificates import services
from webapp.extensions import db
from webapp.learning.framework import seed_framework
from webapp.people.models import Person, Village
from webapp.scheduling.models import CourseClass, Enrolment

NHUNG = "Nguyễn Thị Hồng Nhung"
UOT = "Đặng Văn Ướt"
AN = "Lê Văn An"  # not eligible
VERSION = SimpleNamespace(id=1, number=1, label="0.1-draft")
SIGNER = "Y Blúp"
NAMES = {"0.1": "Sử dụng thiết bị số cơ bản", "2.3": "Giao dịch trực tuyến an toàn"}


@dataclass
class FakeEligibility:
    eligible: bool
    person: Person
    course_class: CourseClass
    version: object = field(default_factory=lambda: VERSION)
    achieved: list = field(default_factory=lambda: ["0.1", "2.3", "9.9"])
    hours: float = 7.5
    summary: str = ""


@dataclass
class CertWorld:
    class_id: int
    people: dict[str, int]
    village_ids: list[int]
    not_eligible: set[str] = field(default_factory=lambda: {AN})


def _eligibility(world: CertWorld, person: Person, course_class: CourseClass):
    if person.full_name in world.not_eligible:
        return FakeEligibility(False, person, course_class, summary="còn thiếu: 2 buổi học")
    return FakeEligibility(True, person, course_class)


@pytest.fixture(autouse=True)
def signer(request, monkeypatch):
    """The configured signer's name (tests without the app need none)."""
    if "app" in request.fixturenames:
        app = request.getfixturevalue("app")
        monkeypatch.setitem(app.config, "CERTIFICATE_SIGNER_NAME", SIGNER)
    return SIGNER


@pytest.fixture
def cert_world(app, world, monkeypatch) -> CertWorld:
    with app.app_context():
        seed_framework(NOW)  # version 1: certificates keep their version by reference
        trainer = db.session.get(User, world.users["trainer"])
        course = make_course(world.commune_id, trainer.id)
        course_class = make_class(course, [trainer], status="finished")
        v1, v2 = (db.session.get(Village, i) for i in world.village_ids)
        people = {}
        for name, village, year in ((NHUNG, v2, 1962), (UOT, v1, 1955), (AN, v1, 1970)):
            person = make_person(village, name, year)
            db.session.add(
                Enrolment(course_class=course_class, person=person, status="enrolled", since=NOW)
            )
            people[name] = person.id
        db.session.commit()
        cw = CertWorld(course_class.id, people, world.village_ids)

    def check(person, course_class, *, now):
        return _eligibility(cw, person, course_class)

    def for_class(course_class, *, now):
        stmt = (
            select(Person)
            .join(Enrolment, Enrolment.person_id == Person.id)
            .where(Enrolment.class_id == course_class.id)
            .order_by(Person.sort_key)
        )
        return [_eligibility(cw, p, course_class) for p in db.session.scalars(stmt)]

    monkeypatch.setattr(services, "framework_ready", lambda: True)
    monkeypatch.setattr(services, "check_eligibility", check)
    monkeypatch.setattr(services, "class_eligibility", for_class)
    monkeypatch.setattr(services, "competency_names", lambda version: dict(NAMES))
    return cw
