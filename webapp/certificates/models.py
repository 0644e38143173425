"""Certificates (immutable once issued), their serial counters and the print log."""

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Integer, String, event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from webapp.errors import DomainError
from webapp.extensions import db
from webapp.timeutil import UTCDateTime


class SerialCounter(db.Model):
    """The last serial number given in a commune in a (local) year.

    One row per (commune, year), bumped with a single ``INSERT … ON CONFLICT DO UPDATE …
    RETURNING``: the row lock makes concurrent issues wait for each other, so no number is
    given twice (the unique serial on ``certificates`` is the second line of defence).
    """

    __tablename__ = "certificate_serials"

    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Certificate(db.Model):
    """A completion certificate. Never edited: revoked with a reason, re-issued as a new one.

    ``snapshot`` holds every printed field as it was on the day of issue, so renaming the
    person or changing the course or the framework later changes nothing on the paper.
    """

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Printed serial, e.g. NGOKBAY-2025-000123 (commune code, local year of issue, number).
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    #: Unguessable code of the public verification page /v/<code> (the QR holds its URL).
    verify_code: Mapped[str] = mapped_column(String(32), unique=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id"), index=True)
    #: The framework version the certificate was issued under; it keeps it for good.
    framework_version_id: Mapped[int | None] = mapped_column(ForeignKey("framework_versions.id"))
    snapshot: Mapped[dict] = mapped_column(JSON)
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoke_reason: Mapped[str] = mapped_column(String(300), default="")
    #: The revoked certificate this one replaces (a re-issue).
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))

    person = relationship("Person")
    course_class = relationship("CourseClass")
    commune = relationship("Commune")
    issued_by = relationship("User", foreign_keys=[issued_by_id])
    revoked_by = relationship("User", foreign_keys=[revoked_by_id])
    replaces = relationship("Certificate", remote_side=[id])

    @property
    def is_valid(self) -> bool:
        return self.revoked_at is None

    def __repr__(self) -> str:
        return f"<Certificate {self.serial}>"


#: What a certificate says and who it belongs to: fixed at issue. Only ``revoked_*`` (and the
#: reason) may be set afterwards.
FROZEN = (
    "serial",
    "snapshot",
    "verify_code",
    "person_id",
    "class_id",
    "commune_id",
    "framework_version_id",
    "issued_at",
    "issued_by_id",
    "replaces_id",
)


class CertificateChanged(DomainError):
    status = 409


def _changed(state, name: str) -> bool:
    history = state.attrs[name].history
    if not history.added:
        return False
    # Not loaded before the change (expired): we cannot tell, so it counts as a change.
    return not history.deleted or list(history.added) != list(history.deleted)


@event.listens_for(Session, "before_flush")
def _refuse_certificate_edits(session: Session, flush_context, instances) -> None:
    """An issued certificate is never edited: refuse a flush that changes a frozen field
    (a mistake is put right by revoking and re-issuing)."""
    for obj in session.dirty:
        if not isinstance(obj, Certificate):
            continue
        state = inspect(obj)
        if not state.persistent:
            continue
        changed = [name for name in FROZEN if _changed(state, name)]
        if changed:
            raise CertificateChanged(
                "certificate_immutable",
                _l("An issued certificate cannot be edited (%(fields)s); revoke and re-issue it."),
                fields=", ".join(changed),
            )


class PrintKind(StrEnum):
    """What was done: the PDF downloaded, or the print view opened to print from the browser."""

    DOWNLOAD = "download"
    PRINT = "print"


class PrintLog(db.Model):
    """One certificate in one download of a PDF or one opening of the print view: the
    reprint log.

    A class's or a village's PDF writes one row per certificate, all with the same ``batch``.
    """

    __tablename__ = "certificate_prints"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"), index=True)
    batch: Mapped[str] = mapped_column(String(32), index=True)
    #: A :class:`PrintKind`: "download" (a PDF) or "print" (the print view).
    kind: Mapped[str] = mapped_column(String(10))
    #: What was printed: "certificate", "class:<id>", "village:<id>", "print_view".
    scope: Mapped[str] = mapped_column(String(40))
    printed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    printed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    printed_by = relationship("User")
