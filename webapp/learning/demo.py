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
from webapp.scheduling.enrolment import enrolled_people
from webapp.scheduling.models import ClassStatus, CourseClass


def seed_evidence(commune: Commune, *, now: datetime) -> int:
    count = 0
    classes = db_classes(commune)
    for course_class in classes:
        trainer = course_class.trainers[0]
        last = max(s.ends_at for s in course_class.sessions)
        for i, person in enumerate(_learners(course_class)):
            for code, kind, where in _shown(course_class, i, last):
                services.record_evidence(
                    actor=trainer, now=last, person=person, competency_code=code, kind=kind, **where
                )
                count += 1
    return count


def _shown(course_class: CourseClass, i: int, last: datetime) -> list[tuple[str, str, dict]]:
    """What the ``i``-th learner showed: (code, kind, class_id or detail) of each evidence."""
    if i == 2:
        return [
            (ALL_COMPETENCIES, EvidenceKind.VNEID, {"detail": {"date": last.date().isoformat()}})
        ]
    codes = list(course_class.course.competency_codes)
    shown = codes[:-1] if i % 4 == 3 else codes
    return [(code, EvidenceKind.CHECKLIST, {"class_id": course_class.id}) for code in shown]


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
    """The class's learners in the order they were registered (the demo's own order)."""
    return sorted(enrolled_people(course_class), key=lambda person: person.id)
