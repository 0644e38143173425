"""Occasions people check in to. A class session is one; a mentoring meeting will be another.

The attendance service knows an occasion only through this interface: when it is, whether it
is cancelled, who belongs to it and who runs it. A new kind subclasses :class:`Occasion` and
registers itself in :data:`KINDS`.
"""

from abc import ABC, abstractmethod
from datetime import datetime, timedelta
from typing import ClassVar

from flask import current_app
from sqlalchemy import Select, and_, select

from webapp.accounts.models import User
from webapp.checkin.models import CheckinPoint, OccasionKind
from webapp.extensions import db
from webapp.people.models import Person
from webapp.scheduling import services as scheduling
from webapp.scheduling.models import ClassSession, CourseClass, Enrolment, EnrolmentStatus


class Occasion(ABC):
    kind: ClassVar[str]

    id: int
    commune_id: int
    starts_at: datetime
    ends_at: datetime

    @property
    @abstractmethod
    def cancelled(self) -> bool: ...

    @property
    @abstractmethod
    def title(self) -> str: ...

    @abstractmethod
    def can_run(self, actor: User) -> bool:
        """Whether the actor may record and correct attendance here."""

    @abstractmethod
    def members(self) -> Select:
        """A query of the persons expected here (ids only: ``select(Person.id)...``)."""

    @abstractmethod
    def admit(self, person: Person, *, actor: User, now: datetime) -> bool:
        """Make the person a member (a request to join approved); False when there is no room."""

    def is_member(self, person_id: int) -> bool:
        return db.session.scalar(self.members().where(Person.id == person_id)) is not None

    # -- the check-in window ------------------------------------------------------------------

    @property
    def opens_at(self) -> datetime:
        return self.starts_at - timedelta(
            minutes=current_app.config["CHECKIN_OPENS_BEFORE_MINUTES"]
        )

    @property
    def closes_at(self) -> datetime:
        return self.ends_at + timedelta(minutes=current_app.config["CHECKIN_CLOSES_AFTER_MINUTES"])

    @property
    def late_from(self) -> datetime:
        return self.starts_at + timedelta(minutes=current_app.config["CHECKIN_LATE_AFTER_MINUTES"])

    def is_open(self, now: datetime) -> bool:
        return not self.cancelled and self.opens_at <= now <= self.closes_at

    @classmethod
    @abstractmethod
    def load(cls, occasion_id: int) -> "Occasion | None": ...

    @classmethod
    @abstractmethod
    def open_ids(cls, now: datetime) -> Select:
        """Ids of this kind's occasions whose check-in window contains ``now``."""


class SessionOccasion(Occasion):
    """A session of a class: the class's enrolled learners are expected."""

    kind = OccasionKind.SESSION

    def __init__(self, session: ClassSession):
        self.session = session
        self.course_class: CourseClass = session.course_class
        self.id = session.id
        self.commune_id = self.course_class.commune_id
        self.starts_at = session.starts_at
        self.ends_at = session.ends_at

    @property
    def cancelled(self) -> bool:
        return self.session.is_cancelled or self.course_class.status == "cancelled"

    @property
    def title(self) -> str:
        return self.course_class.name

    def can_run(self, actor: User) -> bool:
        return scheduling.can_run(actor, self.course_class)

    def members(self) -> Select:
        return (
            select(Person.id)
            .join(Enrolment, Enrolment.person_id == Person.id)
            .where(
                Enrolment.class_id == self.course_class.id,
                Enrolment.status == EnrolmentStatus.ENROLLED,
            )
        )

    def admit(self, person: Person, *, actor: User, now: datetime) -> bool:
        from webapp.scheduling import enrolment

        status = db.session.scalar(
            select(Enrolment.status).where(
                Enrolment.class_id == self.course_class.id, Enrolment.person_id == person.id
            )
        )
        if status == EnrolmentStatus.WAITING:
            # Already in line: a seat goes to them only in their turn (enrol() would refuse
            # them as already in the class).
            enrolment.promote_waiting(self.course_class, now=now)
            status = db.session.scalar(
                select(Enrolment.status).where(
                    Enrolment.class_id == self.course_class.id, Enrolment.person_id == person.id
                )
            )
        elif status != EnrolmentStatus.ENROLLED:  # enrolled meanwhile: nothing to do
            status = enrolment.enrol(actor=actor, now=now, course_class=self.course_class,
                                     person=person).status  # fmt: skip
        return status == EnrolmentStatus.ENROLLED

    @classmethod
    def load(cls, occasion_id: int) -> "SessionOccasion | None":
        session = db.session.get(ClassSession, occasion_id)
        return cls(session) if session is not None else None

    @classmethod
    def open_ids(cls, now: datetime) -> Select:
        before = timedelta(minutes=current_app.config["CHECKIN_OPENS_BEFORE_MINUTES"])
        after = timedelta(minutes=current_app.config["CHECKIN_CLOSES_AFTER_MINUTES"])
        return select(ClassSession.id).where(
            and_(
                ClassSession.starts_at <= now + before,
                ClassSession.ends_at >= now - after,
                ClassSession.cancelled_at.is_(None),
            )
        )


KINDS: dict[str, type[Occasion]] = {SessionOccasion.kind: SessionOccasion}


def load(kind: str, occasion_id: int) -> Occasion | None:
    cls = KINDS.get(kind)
    return cls.load(occasion_id) if cls is not None else None


def for_point(point: CheckinPoint) -> Occasion | None:
    return load(point.occasion_kind, point.occasion_id)
