"""A class of the course "0.1, 2.3" with four past 2-hour sessions (8 hours), learners,
and the draft framework as version 1."""

from dataclasses import dataclass
from datetime import timedelta

from tests.factories import NOW, make_class, make_course, make_person, make_session
from webapp.accounts.models import User
from webapp.checkin.models import Attendance, OccasionKind
from webapp.extensions import db
from webapp.learning.framework import seed_framework
from webapp.people.models import Village
from webapp.scheduling.models import ClassSession, CourseClass, Enrolment


@dataclass
class LearningWorld:
    class_id: int
    session_ids: list[int]
    learners: dict[str, int]  # name -> person id


def build(world, *, codes=("0.1", "2.3"), sessions=4, names=("An", "Bình", "Cúc")):
    seed_framework(NOW - timedelta(days=30))
    trainer = db.session.get(User, world.users["trainer"])
    village = db.session.get(Village, world.village_ids[0])
    course = make_course(world.commune_id, trainer.id)
    course.competency_codes = list(codes)
    course_class = make_class(course, [trainer], village_id=village.id)
    made = [
        make_session(course_class, NOW - timedelta(days=7 * (sessions - i)))
        for i in range(sessions)
    ]
    learners = {}
    for i, name in enumerate(names):
        person = make_person(village, f"Nguyễn Văn {name}", 1950 + i)
        db.session.add(
            Enrolment(
                course_class=course_class,
                person=person,
                status="enrolled",
                since=NOW - timedelta(days=40),
            )
        )
        learners[name] = person.id
    db.session.commit()
    return LearningWorld(course_class.id, [s.id for s in made], learners)


def attend(person_id: int, session_ids, status="present") -> None:
    for session_id in session_ids:
        db.session.add(
            Attendance(
                occasion_kind=OccasionKind.SESSION,
                occasion_id=session_id,
                person_id=person_id,
                status=status,
                method="roster",
                recorded_at=NOW,
                updated_at=NOW,
            )
        )
    db.session.commit()


def course_class(lw: LearningWorld) -> CourseClass:
    return db.session.get(CourseClass, lw.class_id)


def sessions(lw: LearningWorld) -> list[ClassSession]:
    return [db.session.get(ClassSession, i) for i in lw.session_ids]
