"""Demo attendance: the sessions of the demo classes that are over have a register.

Most learners came (a few late, some absent or excused), recorded through the same service
the pages use, at plausible times. Learners get their learner codes.
"""

import random
from datetime import datetime, timedelta

from sqlalchemy import select

from webapp.checkin import phones, services
from webapp.checkin.models import Method, Status
from webapp.checkin.occasions import SessionOccasion
from webapp.extensions import db
from webapp.people.models import Commune, Person
from webapp.scheduling.models import ClassSession, ClassStatus, CourseClass


def seed_attendance(commune: Commune, *, now: datetime) -> int:
    """Record attendance for every finished session of the commune's classes."""
    chance = random.Random(20251125)
    count = 0
    classes = db.session.scalars(select(CourseClass).where(CourseClass.commune_id == commune.id))
    for course_class in classes:
        trainer = course_class.trainers[0]
        for j, session in enumerate(sorted(course_class.sessions, key=lambda s: s.starts_at)):
            if session.ends_at > now or session.is_cancelled:
                continue
            occasion = SessionOccasion(session)
            people = db.session.scalars(
                select(Person).where(Person.id.in_(occasion.members())).order_by(Person.id)
            )
            for i, person in enumerate(people):
                if course_class.status == ClassStatus.FINISHED:
                    count += _finished(occasion, session, person, trainer, i, j)
                else:
                    count += _one(occasion, session, person, trainer, chance)
    learners = db.session.scalars(select(Person).where(Person.id.in_(_enrolled_ids(commune)))).all()
    phones.ensure_learner_codes(learners)
    return count


def _one(occasion, session: ClassSession, person, trainer, chance: random.Random) -> int:
    roll = chance.random()
    if roll < 0.72:
        status, minutes = Status.PRESENT, chance.randint(-20, 10)
    elif roll < 0.82:
        status, minutes = Status.LATE, chance.randint(16, 40)
    elif roll < 0.9:
        status, minutes = Status.EXCUSED, -60
    else:
        status, minutes = Status.ABSENT, 150
    method = chance.choice([Method.SELF_SCAN, Method.SELF_SCAN, Method.ROSTER, Method.CARD])
    if status not in (Status.PRESENT, Status.LATE):
        method = Method.ROSTER
    at = session.starts_at + timedelta(minutes=minutes)
    services.set_status(occasion, person, status, actor=trainer, now=at, method=method)
    return 1


def _finished(occasion, session: ClassSession, person, trainer, i: int, j: int) -> int:
    """The finished class: most came every time; every fifth learner missed two sessions."""
    missed = i % 5 == 4 and j % 2 == 0
    status = Status.ABSENT if missed else Status.PRESENT
    at = session.starts_at + timedelta(minutes=-10 if not missed else 120)
    services.set_status(occasion, person, status, actor=trainer, now=at, method=Method.SELF_SCAN)
    return 1


def _enrolled_ids(commune: Commune):
    from webapp.scheduling.models import Enrolment

    return (
        select(Enrolment.person_id)
        .join(CourseClass, CourseClass.id == Enrolment.class_id)
        .where(CourseClass.commune_id == commune.id)
    )
