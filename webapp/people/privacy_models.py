"""Personal data rights (Luật Bảo vệ dữ liệu cá nhân 91/2025/QH15, Nghị định 13/2023/NĐ-CP):
consent notices and the consents given on them, a person's requests with their deadlines, and
the audit trail of who viewed, exported, printed or changed a person's data.

See docs/personal-data.md.
"""

from datetime import date, datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.errors import DomainError
from webapp.extensions import db
from webapp.timeutil import UTCDateTime


class PrivacyError(DomainError):
    """A personal-data rule refused an action (``code``: see docs/personal-data.md)."""


class ConsentNotice(db.Model):
    """What a person consents to: a versioned notice in plain Vietnamese (and English)."""

    __tablename__ = "consent_notices"
    __table_args__ = (UniqueConstraint("version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    text_vi: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConsentMethod(StrEnum):
    #: A signed paper form, received by staff.
    PAPER = "paper"
    #: On the learner's own phone (a linked phone).
    PHONE = "phone"
    #: On the class sign-up form.
    SIGNUP = "signup"
    #: A date of consent read from an imported list (the paper kept by the commune).
    IMPORT = "import"


CONSENT_METHOD_LABELS = {
    ConsentMethod.PAPER: _l("signed paper form"),
    ConsentMethod.PHONE: _l("on their own phone"),
    ConsentMethod.SIGNUP: _l("on the class sign-up form"),
    ConsentMethod.IMPORT: _l("date from an imported list"),
}


class Consent(db.Model):
    """One consent a person gave on one notice: how, when, recorded by whom; and its
    withdrawal. Never deleted (proof), except by erasure of the person."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_person", "person_id", "given_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    notice_id: Mapped[int] = mapped_column(ForeignKey("consent_notices.id"))
    method: Mapped[str] = mapped_column(String(12))
    #: The day the person agreed (the date on the paper form).
    given_on: Mapped[date] = mapped_column(Date)
    given_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("checkin_devices.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    notice: Mapped[ConsentNotice] = relationship()
    recorded_by = relationship("User", foreign_keys=[recorded_by_id])
    withdrawn_by = relationship("User", foreign_keys=[withdrawn_by_id])


class RequestKind(StrEnum):
    ACCESS = "access"
    CORRECTION = "correction"
    RESTRICTION = "restriction"
    ERASURE = "erasure"
    WITHDRAWAL = "withdrawal"


REQUEST_KIND_LABELS = {
    RequestKind.ACCESS: _l("See everything held (PDF and JSON)"),
    RequestKind.CORRECTION: _l("Correct their data"),
    RequestKind.RESTRICTION: _l("Restrict processing"),
    RequestKind.ERASURE: _l("Erase their data"),
    RequestKind.WITHDRAWAL: _l("Withdraw consent"),
}


class DataRequest(db.Model):
    """A person's request about their data, logged with its deadline and when it was done."""

    __tablename__ = "data_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: How the request came (never the person's words: no personal data here).
    channel: Mapped[str] = mapped_column(String(12), default="in_person")
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fulfilled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    person = relationship("Person")
    received_by = relationship("User", foreign_keys=[received_by_id])
    fulfilled_by = relationship("User", foreign_keys=[fulfilled_by_id])

    @property
    def done(self) -> bool:
        return self.fulfilled_at is not None


class AuditAction(StrEnum):
    VIEW = "view"
    EXPORT = "export"
    PRINT = "print"
    CHANGE = "change"
    IMPORT = "import"
    CONSENT = "consent"
    REQUEST = "request"
    ERASE = "erase"


AUDIT_ACTION_LABELS = {
    AuditAction.VIEW: _l("viewed"),
    AuditAction.EXPORT: _l("exported"),
    AuditAction.PRINT: _l("printed"),
    AuditAction.CHANGE: _l("changed"),
    AuditAction.IMPORT: _l("imported"),
    AuditAction.CONSENT: _l("consent recorded"),
    AuditAction.REQUEST: _l("request handled"),
    AuditAction.ERASE: _l("erased"),
}


class AuditEvent(db.Model):
    """Who viewed, exported, printed or changed personal data, when, from where. Written once,
    never changed (the ORM refuses, and so does a database trigger); removed only by
    ``flask prune`` after the retention (``AUDIT_RETENTION_DAYS``)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_person", "person_id", "at"),
        Index("ix_audit_events_user", "user_id", "at"),
        Index("ix_audit_events_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The user's role then (roles change).
    role: Mapped[str] = mapped_column(String(20), default="")
    action: Mapped[str] = mapped_column(String(10))
    #: What was read or written: an endpoint or a file ("people.detail", "people.xlsx").
    what: Mapped[str] = mapped_column(String(80))
    #: The person concerned (None: many, see ``rows``).
    person_id: Mapped[int | None] = mapped_column(Integer)
    commune_id: Mapped[int | None] = mapped_column(Integer)
    #: People (rows) in a bulk export or import.
    rows: Mapped[int | None] = mapped_column(Integer)
    #: The client's address as the reverse proxy reports it.
    address: Mapped[str] = mapped_column(String(45), default="")

    user = relationship("User")


@event.listens_for(AuditEvent, "before_update")
def _audit_never_changes(_mapper, _connection, _target) -> None:
    raise PrivacyError("audit_immutable", _l("An audit event is never changed."))


@event.listens_for(AuditEvent, "before_delete")
def _audit_never_deleted(_mapper, _connection, _target) -> None:
    raise PrivacyError("audit_immutable", _l("An audit event is removed only by its retention."))
