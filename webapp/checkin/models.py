"""Check-in points (the QR and typed code of an occasion), attendance, corrections, devices
and requests to join.

Attendance belongs to an *occasion*: a class session today, a mentoring meeting later. An
occasion is named by its kind and id, so one table and one service serve both.
"""

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.timeutil import UTCDateTime


class OccasionKind(StrEnum):
    SESSION = "session"
    MEETING = "meeting"  # a mentoring meeting (webapp.mentoring.occasion)


class Status(StrEnum):
    PRESENT = "present"
    LATE = "late"
    ABSENT = "absent"
    EXCUSED = "excused"


STATUS_LABELS = {
    Status.PRESENT: _l("Present"),
    Status.LATE: _l("Late"),
    Status.ABSENT: _l("Absent"),
    Status.EXCUSED: _l("Excused"),
}

#: Statuses that count as having attended.
ATTENDED = frozenset({Status.PRESENT, Status.LATE})


class Method(StrEnum):
    SELF_SCAN = "self_scan"  # the learner's own phone, session QR or typed session code
    #: The learner code typed on a learner's phone (not a staff route): the phone's new link
    #: waits for the trainer's confirmation on the live page.
    CODE_SELF = "code_self"
    ROSTER = "roster"  # the trainer taps the person on the roster
    CARD = "card"  # the trainer scans the learner's printed QR card
    CODE = "code"  # the trainer types the learner code
    PAPER = "paper"  # entered afterwards from the paper sign-in sheet


METHOD_LABELS = {
    Method.SELF_SCAN: _l("own phone"),
    Method.CODE_SELF: _l("learner code on a phone"),
    Method.ROSTER: _l("roster"),
    Method.CARD: _l("learner card"),
    Method.CODE: _l("learner code"),
    Method.PAPER: _l("paper sheet"),
}


class CheckinPoint(db.Model):
    """Where people check in to one occasion: its QR token and its typed code."""

    __tablename__ = "checkin_points"
    __table_args__ = (UniqueConstraint("occasion_kind", "occasion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occasion_kind: Mapped[str] = mapped_column(String(20))
    occasion_id: Mapped[int] = mapped_column(Integer)
    #: In the QR URL ``/c/<token>``: short, unguessable.
    token: Mapped[str] = mapped_column(String(16), unique=True)
    #: Six characters a learner types when the phone's camera fails (fixed mode).
    code: Mapped[str] = mapped_column(String(6), unique=True)
    #: Rotating mode: the QR and the code change every step (forwarded photos stop working).
    rotating: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Key of the rotating codes.
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LinkMethod(StrEnum):
    """How a phone came to be linked to a person (by a successful check-in, never else)."""

    PHONE = "phone"  # phone number + birth year
    CODE = "code"  # the learner code typed on the phone


LINK_METHOD_LABELS = {
    LinkMethod.PHONE: _l("phone number and year of birth"),
    LinkMethod.CODE: _l("learner code"),
}


class Device(db.Model):
    """A phone (browser) remembered for a person, by a long-lived signed cookie.

    A link is made only by a successful check-in on the phone; until staff confirm it
    (``confirmed_at``), the person's quiz passes on this phone are kept as pending evidence.
    """

    __tablename__ = "checkin_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Random key held in the cookie (signed there); several rows share it when a family
    #: shares one phone.
    key: Mapped[str] = mapped_column(String(32))  # looked up by the unique (key, person_id)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: A LinkMethod; None for links made before links were confirmed.
    method: Mapped[str | None] = mapped_column(String(12))
    #: The occasion whose check-in made the link (its trainer confirms or undoes it).
    occasion_kind: Mapped[str | None] = mapped_column(String(20))
    occasion_id: Mapped[int | None] = mapped_column(Integer)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    person = relationship("Person")

    __table_args__ = (
        UniqueConstraint("key", "person_id"),
        Index("ix_checkin_devices_occasion", "occasion_kind", "occasion_id"),
    )

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None


class Attendance(db.Model):
    """One person at one occasion: at most one row, whatever the number of scans."""

    __tablename__ = "attendance"
    __table_args__ = (
        UniqueConstraint("occasion_kind", "occasion_id", "person_id"),
        # A person's records; with these columns the reports' "attended a session by then"
        # is answered from the index alone (webapp/reports/figures.py).
        Index("ix_attendance_person", "person_id", "occasion_kind", "status", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occasion_kind: Mapped[str] = mapped_column(String(20))
    occasion_id: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    status: Mapped[str] = mapped_column(String(10))
    method: Mapped[str] = mapped_column(String(12))
    #: When the person arrived (first check-in), or when the status was first recorded.
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The staff member who recorded it; None when the learner checked in on their phone.
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The remembered phone that checked in (self-scan), to flag one phone checking in many.
    device_key: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    person = relationship("Person")
    recorded_by = relationship("User", foreign_keys=[recorded_by_id])
    changes: Mapped[list["AttendanceChange"]] = relationship(
        back_populates="attendance", order_by="AttendanceChange.changed_at"
    )

    @property
    def attended(self) -> bool:
        return self.status in ATTENDED


class AttendanceChange(db.Model):
    """A correction of an attendance record: who, when, why, from what to what."""

    __tablename__ = "attendance_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    attendance_id: Mapped[int] = mapped_column(ForeignKey("attendance.id"), index=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    old_status: Mapped[str] = mapped_column(String(10))
    new_status: Mapped[str] = mapped_column(String(10))
    method: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(String(300), default="")

    attendance: Mapped[Attendance] = relationship(back_populates="changes")
    changed_by = relationship("User")


class JoinStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class JoinRequest(db.Model):
    """Someone not enrolled scanned the QR and asked to join; the trainer decides."""

    __tablename__ = "checkin_join_requests"
    __table_args__ = (UniqueConstraint("occasion_kind", "occasion_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occasion_kind: Mapped[str] = mapped_column(String(20))
    occasion_id: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    device_key: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(10), default=JoinStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    person = relationship("Person")


class OfflineAction(db.Model):
    """One action a staff phone queued while offline (a roster tap, a learner code, a
    mentor's meeting), by its random nonce: the ledger that makes a retried upload record
    nothing twice, and keeps what was not applied (superseded, refused) with its answer."""

    __tablename__ = "offline_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 32 hex characters made by the phone; the unique constraint decides between racing uploads.
    nonce: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    #: When it happened on the phone (after the server's clock check).
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    code: Mapped[str] = mapped_column(String(40))
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The answer as first given (in the language of that upload).
    message: Mapped[str] = mapped_column(String(500), default="")
    #: The attendance record (mark, code) or the meeting (meeting) it made or met.
    record_id: Mapped[int | None] = mapped_column(Integer)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    #: The record's status and time as answered.
    status: Mapped[str | None] = mapped_column(String(10))
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
