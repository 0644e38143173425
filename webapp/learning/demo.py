"""Demo evidence: the trainer's checklist of the class that finished last month.

Every learner showed the course's first competencies; every fourth one has not yet shown the
last; one confirmed the standard on VNeID. With the attendance of the demo (every fifth learner
missed two sessions) the organiser sees some learners eligible and what the others lack.
"""

from datetime import datetime

from sqlalchemy import select

from webapp.learning import services
from webapp.learning.models import ALL_COMPETENCIES, EvidenceKind
from webapp.people.models import Commune, Person
from webapp.scheduling.models import ClassStatus, CourseClass, Enrolment, EnrolmentStatus


def seed_evidence(commune: Commune, *, now: datetime) -> int:
    count = 0
    classes = db_classes(commune)
    for course_class in classes:
        trainer = course_class.trainers[0]
        last = max(s.ends_at for s in course_class.sessions)
        codes = list(course_class.course.competency_codes)
        for i, person in enumerate(_learners(course_class)):
            if i == 2:
                services.record_evidence(
                    actor=trainer,
                    now=last,
                    person=person,
                    competency_code=ALL_COMPETENCIES,
                    kind=EvidenceKind.VNEID,
                    detail={"date": last.date().isoformat()},
                )
                count += 1
                continue
            shown = codes[:-1] if i % 4 == 3 else codes
            for code in shown:
                services.record_evidence(
                    actor=trainer,
                    now=last,
                    person=person,
                    competency_code=code,
                    kind=EvidenceKind.CHECKLIST,
                    class_id=course_class.id,
                )
                count += 1
    return count


def db_classes(commune: Commune) -> list[CourseClass]:
    from webapp.extensions import db

    return list(
        db.session.scalars(
            select(CourseClass).where(
                CourseClass.commune_id == commune.id, CourseClass.status == ClassStatus.FINISHED
            )
        )
    )


def _learners(course_class: CourseClass) -> list[Person]:
    from webapp.extensions import db

    return list(
        db.session.scalars(
            select(Person)
            .join(Enrolment, Enrolment.person_id == Person.id)
            .where(
                Enrolment.class_id == course_class.id,
                Enrolment.status == EnrolmentStatus.ENROLLED,
            )
            .order_by(Person.id)
        )
    )
