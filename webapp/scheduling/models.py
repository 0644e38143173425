"""Courses, venues, classes, sessions, enrolments and public sign-up requests."""

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.timeutil import UTCDateTime


class Accessibility(StrEnum):
    """Features of a venue."""

    STEP_FREE = "step_free"
    ACCESSIBLE_TOILET = "accessible_toilet"
    HEARING_LOOP = "hearing_loop"
    GOOD_LIGHTING = "good_lighting"


ACCESSIBILITY_LABELS = {
    Accessibility.STEP_FREE: _l("Step-free access"),
    Accessibility.ACCESSIBLE_TOILET: _l("Accessible toilet"),
    Accessibility.HEARING_LOOP: _l("Hearing loop"),
    Accessibility.GOOD_LIGHTING: _l("Good lighting"),
}


class Equipment(StrEnum):
    PROJECTOR = "projector"
    WIFI = "wifi"
    LOAN_PHONES = "loan_phones"


EQUIPMENT_LABELS = {
    Equipment.PROJECTOR: _l("Projector"),
    Equipment.WIFI: _l("Wi-Fi"),
    Equipment.LOAN_PHONES: _l("Phones to lend"),
}


class Accommodation(StrEnum):
    """Accessibility accommodations a class offers."""

    LARGE_PRINT = "large_print"
    SIGN_LANGUAGE = "sign_language"
    SLOWER_PACE = "slower_pace"
    ONE_TO_ONE = "one_to_one"


ACCOMMODATION_LABELS = {
    Accommodation.LARGE_PRINT: _l("Large print"),
    Accommodation.SIGN_LANGUAGE: _l("Sign-language interpreter"),
    Accommodation.SLOWER_PACE: _l("Slower pace"),
    Accommodation.ONE_TO_ONE: _l("One-to-one help"),
}


class ClassStatus(StrEnum):
    PLANNED = "planned"
    OPEN = "open"
    RUNNING = "running"
    FINISHED = "finished"
    CANCELLED = "cancelled"


CLASS_STATUS_LABELS = {
    ClassStatus.PLANNED: _l("Planned"),
    ClassStatus.OPEN: _l("Open for enrolment"),
    ClassStatus.RUNNING: _l("Running"),
    ClassStatus.FINISHED: _l("Finished"),
    ClassStatus.CANCELLED: _l("Cancelled"),
}


class EnrolmentStatus(StrEnum):
    ENROLLED = "enrolled"
    WAITING = "waiting"
    WITHDRAWN = "withdrawn"


class SignupStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class Course(db.Model):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    #: Target-group codes (people.models.TargetGroup) the course is designed for.
    target_groups: Mapped[list] = mapped_column(JSON, default=list)
    #: Segment codes (people.models.Segment), e.g. ["older"] or ["disability"].
    segments: Mapped[list] = mapped_column(JSON, default=list)
    #: For courses designed for one kind of disability (e.g. blind learners).
    disability_types: Mapped[list] = mapped_column(JSON, default=list)
    #: Framework competency codes such as "0.1", "2.3" (names come from the framework).
    competency_codes: Mapped[list] = mapped_column(JSON, default=list)
    planned_hours: Mapped[float] = mapped_column(Float, default=0)
    planned_sessions: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    materials: Mapped[list["CourseMaterial"]] = relationship(
        back_populates="course", order_by="CourseMaterial.id", cascade="all, delete-orphan"
    )
    classes: Mapped[list["CourseClass"]] = relationship(back_populates="course")

    def __repr__(self) -> str:
        return f"<Course {self.id} {self.title}>"


class CourseMaterial(db.Model):
    """A link or an uploaded file (PDF or image). Files are kept in the database so every
    app host can serve them."""

    __tablename__ = "course_materials"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(500))
    filename: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    course: Mapped[Course] = relationship(back_populates="materials")


class Venue(db.Model):
    __tablename__ = "venues"

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    capacity: Mapped[int] = mapped_column(Integer, default=0)
    accessibility: Mapped[list] = mapped_column(JSON, default=list)
    equipment: Mapped[list] = mapped_column(JSON, default=list)

    village = relationship("Village")

    def __repr__(self) -> str:
        return f"<Venue {self.id} {self.name}>"


class_trainers = Table(
    "class_trainers",
    db.metadata,
    Column("class_id", ForeignKey("classes.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
)


class CourseClass(db.Model):
    """A class: one cohort of a course, with its trainers, audience and sessions."""

    __tablename__ = "classes"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"))
    name: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int] = mapped_column(Integer)
    #: Volunteers who help the trainers (e.g. youth-union members), as free text.
    assistants: Mapped[str] = mapped_column(String(300), default="")
    target_groups: Mapped[list] = mapped_column(JSON, default=list)
    segments: Mapped[list] = mapped_column(JSON, default=list)
    accommodations: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default=ClassStatus.PLANNED)
    #: Whether the class has a public page where people can ask to join.
    public_signup: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Unguessable handle of the public page and of the class calendar feed.
    public_token: Mapped[str] = mapped_column(String(43), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    course: Mapped[Course] = relationship(back_populates="classes")
    village = relationship("Village")
    trainers = relationship("User", secondary=class_trainers, order_by="User.full_name")
    sessions: Mapped[list["ClassSession"]] = relationship(
        back_populates="course_class", order_by="ClassSession.starts_at"
    )
    enrolments: Mapped[list["Enrolment"]] = relationship(back_populates="course_class")

    def __repr__(self) -> str:
        return f"<CourseClass {self.id} {self.name}>"


class ClassSession(db.Model):
    """One meeting of a class. Times are stored in UTC and shown in Vietnam time."""

    __tablename__ = "class_sessions"
    __table_args__ = (Index("ix_class_sessions_time", "starts_at", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id"), index=True)
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venues.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    topic: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str] = mapped_column(String(300), default="")
    #: Set when an organiser saved the session despite a trainer or venue clash.
    clash_override_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    clash_override_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clash_override_note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    course_class: Mapped[CourseClass] = relationship(back_populates="sessions")
    venue: Mapped[Venue | None] = relationship()
    cancelled_by = relationship("User", foreign_keys=[cancelled_by_id])
    clash_override_by = relationship("User", foreign_keys=[clash_override_by_id])

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def hours(self) -> float:
        return (self.ends_at - self.starts_at).total_seconds() / 3600

    def __repr__(self) -> str:
        return f"<ClassSession {self.id} {self.starts_at:%Y-%m-%d %H:%M}>"


class Enrolment(db.Model):
    """A person's place in a class: enrolled, on the waiting list, or withdrawn."""

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("class_id", "person_id"),
        Index("ix_enrolments_class_status", "class_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    #: When the person joined the current status; the waiting list is served in this order.
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    enrolled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_reason: Mapped[str] = mapped_column(String(300), default="")

    course_class: Mapped[CourseClass] = relationship(back_populates="enrolments")
    person = relationship("Person")
    enrolled_by = relationship("User", foreign_keys=[enrolled_by_id])
    withdrawn_by = relationship("User", foreign_keys=[withdrawn_by_id])


class SignupRequest(db.Model):
    """Someone asked to join a class on its public page; waits for the trainer."""

    __tablename__ = "signup_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(120))
    birth_year: Mapped[int] = mapped_column(Integer)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    phone: Mapped[str] = mapped_column(String(20), default="")
    status: Mapped[str] = mapped_column(String(20), default=SignupStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    course_class: Mapped[CourseClass] = relationship()
    village = relationship("Village")
    person = relationship("Person")
