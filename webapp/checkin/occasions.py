"""Occasions people check in to: a class session here, a mentoring meeting in
:mod:`webapp.mentoring.occasion` (it registers itself in :data:`KINDS`).

The attendance service knows an occasion only through this interface: when it is, whether it
is cancelled, who belongs to it and who runs it. A new kind subclasses :class:`Occasion` and
registers itself in :data:`KINDS`.
"""

from abc import ABC, abstractmethod
from datetime import datetime, timedelta
from typing import ClassVar

from flask import current_app
from sqlalchemy import Row, Select, and_, bindparam, exists, select, text, true
from sqlalchemy.orm import joinedload

from webapp.accounts.models import User
from webapp.checkin.models import CheckinPoint, OccasionKind
from webapp.extensions import db
from webapp.people.models import Person
from webapp.scheduling import services as scheduling
from webapp.scheduling.models import ClassSession, CourseClass, Enrolment, EnrolmentStatus
from webapp.timeutil import UTCDateTime


def window_margins() -> tuple[timedelta, timedelta]:
    """How long before its start check-in opens, and how long after its end it closes."""
    config = current_app.config
    return (
        timedelta(minutes=config["CHECKIN_OPENS_BEFORE_MINUTES"]),
        timedelta(minutes=config["CHECKIN_CLOSES_AFTER_MINUTES"]),
    )


class Occasion(ABC):
    kind: ClassVar[str]
    #: Whether someone not a member may ask to join (the runner decides).
    takes_joins: ClassVar[bool] = True
    #: What a refusal of someone not a member says (``%(name)s``), if not the class's words.
    not_member_message: ClassVar = None

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

    @classmethod
    def attended_hours(cls, person_ids) -> dict[int, float]:
        """Hours of this kind's occasions each person attended, if they count toward a
        certificate's hours somewhere (a mentoring meeting); sessions are counted by the
        class's own tally."""
        return {}

    def insert_attendance(self, values: dict, insert) -> int | None:
        """Insert an attendance row of ``values`` if the person is a member and has no row
        yet: the new row's id, or None (not a member, or already recorded). ``insert(values)``
        is the service's plain insert; a kind may do it all in one statement instead."""
        from webapp.people.consent import processable_id

        person_id = values["person_id"]
        member = self.is_member(person_id) and processable_id(person_id)
        return insert(values) if member else None

    # -- the check-in window ------------------------------------------------------------------

    @property
    def opens_at(self) -> datetime:
        return self.starts_at - window_margins()[0]

    @property
    def closes_at(self) -> datetime:
        return self.ends_at + window_margins()[1]

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

    @classmethod
    @abstractmethod
    def at_point(cls, token: str, *, joined=None) -> "tuple[list[Row], Occasion] | None":
        """The check-in point of this kind with ``token`` and its occasion, in one query: the
        learner's phone asks for it on every scan. The point is the first of the rows (each a
        row of the point's columns).

        ``joined``: ``(name, subquery, params)``, a subquery whose columns come with the
        point's in the same query: one row for each of its rows (one row, its columns NULL,
        when it has none); ``name`` names the combined statement, which is built once. For
        people a learner identified as (an ``identity_id`` column), whether each is a
        member comes too (``identity_member``).
        """


def read_point(base: Select, built: dict, member_of, token: str, joined) -> list[Row]:
    """The rows of :meth:`Occasion.at_point` for a kind: ``base`` (the point's and its
    occasion's columns, bound to ``token``) with what ``joined`` names; each combined statement
    is built once and kept in ``built``; ``member_of(person_id)`` is the kind's
    ``identity_member`` column."""
    stmt, params = base, {"token": token}
    if joined is not None:
        name, subquery, extra = joined
        stmt = built.get(name)
        if stmt is None:
            columns = [*subquery.c]
            if "identity_id" in subquery.c:  # a learner saying who they are
                columns.append(member_of(subquery.c.identity_id))
            stmt = built[name] = base.add_columns(*columns).outerjoin(subquery, true())
        params.update(extra)
    db.session.flush()
    return db.session.connection().execute(stmt, params).all()


class SessionOccasion(Occasion):
    """A session of a class: the class's enrolled learners are expected.

    Made from a loaded ``ClassSession``, or (on the learner's check-in path) from one row of
    columns, in which case the session and class objects are loaded only if asked for.
    """

    kind = OccasionKind.SESSION

    def __init__(self, session: ClassSession):
        self._session = session
        self._course_class: CourseClass | None = session.course_class
        self.id = session.id
        self.class_id = self._course_class.id
        self.commune_id = self._course_class.commune_id
        self.starts_at = session.starts_at
        self.ends_at = session.ends_at

    @classmethod
    def _of_row(cls, row) -> "SessionOccasion":
        """From a row of :data:`_AT_POINT`, no objects loaded."""
        self = cls.__new__(cls)
        self._session = self._course_class = None
        self.id, self.class_id, self.commune_id = row.session_id, row.class_id, row.commune_id
        self.starts_at, self.ends_at = row.starts_at, row.ends_at
        self._cancelled = row.cancelled_at is not None or row.class_status == "cancelled"
        self._title = row.class_name
        return self

    @property
    def session(self) -> ClassSession:
        if self._session is None:
            self._session = db.session.get(ClassSession, self.id)
        return self._session

    @property
    def course_class(self) -> CourseClass:
        if self._course_class is None:
            self._course_class = db.session.get(CourseClass, self.class_id)
        return self._course_class

    @property
    def cancelled(self) -> bool:
        if self._session is None:
            return self._cancelled
        return self.session.is_cancelled or self.course_class.status == "cancelled"

    @property
    def title(self) -> str:
        return self._title if self._session is None else self.course_class.name

    def can_run(self, actor: User) -> bool:
        return scheduling.can_run(actor, self.course_class)

    def members(self) -> Select:
        return (
            select(Person.id)
            .join(Enrolment, Enrolment.person_id == Person.id)
            .where(_enrolled(self.class_id))
        )

    def is_member(self, person_id: int) -> bool:
        db.session.flush()
        found = db.session.connection().execute(
            _IS_MEMBER, {"class_id": self.class_id, "person_id": person_id}
        )
        return found.first() is not None

    def insert_attendance(self, values: dict, insert) -> int | None:
        """The membership check and the insert in one statement (see :data:`_INSERT_MEMBER`)."""
        db.session.flush()  # a text statement does not flush pending changes itself
        values = {**values, "class_id": self.class_id}
        found = db.session.connection().execute(_INSERT_MEMBER, values)
        return found.scalar()

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
            status = enrolment.enrol(
                actor=actor, now=now, course_class=self.course_class, person=person
            ).status
        return status == EnrolmentStatus.ENROLLED

    @classmethod
    def load(cls, occasion_id: int) -> "SessionOccasion | None":
        session = db.session.get(
            ClassSession, occasion_id, options=[joinedload(ClassSession.course_class)]
        )
        return cls(session) if session is not None else None

    @classmethod
    def at_point(cls, token: str, *, joined=None):
        rows = read_point(_AT_POINT, _AT_POINT_JOINED, _member_of_class, token, joined)
        return (rows, cls._of_row(rows[0])) if rows else None

    @classmethod
    def open_ids(cls, now: datetime) -> Select:
        before, after = window_margins()
        return select(ClassSession.id).where(
            and_(
                ClassSession.starts_at <= now + before,
                ClassSession.ends_at >= now - after,
                ClassSession.cancelled_at.is_(None),
            )
        )


# Statements of the learner's check-in path, built once, in SQLAlchemy Core (no ORM objects).
# Core statements do not flush the session first: callers flush (a no-op when nothing is
# pending), so a change made earlier in the transaction is seen.
_E, _P = Enrolment.__table__, CheckinPoint.__table__
_S, _C = ClassSession.__table__, CourseClass.__table__


def _enrolled(class_id, person_id=None):
    """Who is a member of a session: enrolled in its class (not waiting, not withdrawn), the
    rule of :func:`webapp.scheduling.enrolment.is_enrolled`, as a condition on the
    enrolments table (``class_id``, ``person_id``: values, bound parameters or columns; no
    person: everyone enrolled)."""
    of_person = () if person_id is None else (_E.c.person_id == person_id,)
    return and_(_E.c.class_id == class_id, *of_person, _E.c.status == EnrolmentStatus.ENROLLED)


_IS_MEMBER = select(_E.c.person_id).where(_enrolled(bindparam("class_id"), bindparam("person_id")))
#: The attendance row, inserted only when the person is enrolled in the class and has no row
#: for the session yet (the unique constraint decides between racing requests); the new id.
#: The same SQL on SQLite and PostgreSQL (the NULL-able user id is cast: PostgreSQL would take
#: an untyped NULL in a SELECT list for text).
_INSERT_MEMBER = text(
    "INSERT INTO attendance (occasion_kind, occasion_id, person_id, status, method,"
    " recorded_at, recorded_by_id, device_key, updated_at) SELECT :occasion_kind,"
    " :occasion_id, :person_id, :status, :method, :recorded_at,"
    " CAST(:recorded_by_id AS INTEGER), :device_key, :updated_at"
    " WHERE EXISTS (SELECT 1 FROM enrolments WHERE class_id = :class_id"
    f" AND person_id = :person_id AND status = '{EnrolmentStatus.ENROLLED.value}')"
    # Not someone who withdrew consent, is restricted or erased (webapp.people.consent).
    " AND NOT EXISTS (SELECT 1 FROM persons WHERE id = :person_id AND (consent_withdrawn_at"
    " IS NOT NULL OR restricted_at IS NOT NULL OR erased_at IS NOT NULL))"
    " ON CONFLICT (occasion_kind, occasion_id, person_id) DO NOTHING RETURNING id"
).bindparams(
    bindparam("recorded_at", type_=UTCDateTime), bindparam("updated_at", type_=UTCDateTime)
)
_AT_POINT = (
    select(
        *_P.c,
        _S.c.id.label("session_id"),
        _S.c.starts_at,
        _S.c.ends_at,
        _S.c.cancelled_at,
        _C.c.id.label("class_id"),
        _C.c.commune_id,
        _C.c.name.label("class_name"),
        _C.c.status.label("class_status"),
    )
    .join(_S, _S.c.id == _P.c.occasion_id)
    .join(_C, _C.c.id == _S.c.class_id)
    .where(_P.c.token == bindparam("token"), _P.c.occasion_kind == OccasionKind.SESSION)
)
_AT_POINT_JOINED: dict[str, Select] = {}


def _member_of_class(person_id):
    """Whether the person found is enrolled in the point's class (``identity_member``), read
    with the point: a learner's refused identification costs the same query whoever they
    are."""
    return exists().where(_enrolled(_C.c.id, person_id)).label("identity_member")


KINDS: dict[str, type[Occasion]] = {SessionOccasion.kind: SessionOccasion}


def at_occasion(model, occasion: Occasion):
    """The condition that a row of ``model`` (attendance, a check-in point, a request to join,
    a phone's link) belongs to ``occasion``."""
    return and_(model.occasion_kind == occasion.kind, model.occasion_id == occasion.id)


def load(kind: str, occasion_id: int) -> Occasion | None:
    cls = KINDS.get(kind)
    return cls.load(occasion_id) if cls is not None else None


def for_point(point: CheckinPoint) -> Occasion | None:
    return load(point.occasion_kind, point.occasion_id)
