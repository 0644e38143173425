"""A class with a session under way now (real clock), three enrolled learners and one not."""

from dataclasses import dataclass
from datetime import timedelta

from tests.factories import make_class, make_course, make_person, make_session
from webapp.accounts.models import User
from webapp.checkin import phones, services
from webapp.checkin.occasions import SessionOccasion
from webapp.extensions import db
from webapp.people.models import Person, Village
from webapp.scheduling.models import Enrolment
from webapp.timeutil import utcnow


@dataclass
class CheckinWorld:
    session_id: int
    class_id: int
    token: str
    code: str
    learners: dict[str, int]  # name -> person id
    outsider_id: int


def build(world, *, starts_in=timedelta(minutes=-10)) -> CheckinWorld:
    now = utcnow()
    trainer = db.session.get(User, world.users["trainer"])
    village = db.session.get(Village, world.village_ids[0])
    course = make_course(world.commune_id, trainer.id)
    course_class = make_class(course, [trainer], village_id=village.id)
    session = make_session(course_class, (now + starts_in).replace(microsecond=0))
    learners = {}
    for name, phone, year in (
        ("Nguyễn Thị Hồng Nhung", "0905123456", 1958),
        ("Đặng Văn Ướt", "0905765432", 1949),
        ("Y Blích", None, 1962),
    ):
        person = make_person(village, name, year, phone=phone)
        db.session.add(
            Enrolment(course_class=course_class, person=person, status="enrolled", since=now)
        )
        learners[name] = person.id
    outsider = make_person(village, "Lê Văn Tám", 1970, phone="0911222333")
    point = services.point_for(SessionOccasion(session), now=now)
    people = [db.session.get(Person, i) for i in learners.values()]
    phones.ensure_learner_codes([outsider, *people])
    db.session.commit()
    return CheckinWorld(session.id, course_class.id, point.token, point.code, learners, outsider.id)
