"""The competency framework as versioned data, and evidence that a person has a competency.

A framework version is never edited: importing a file or changing the certificate rules
publishes a new version (areas and competencies copied), so a certificate issued under
version 1 keeps meaning what it meant then.
"""

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.timeutil import UTCDateTime


class FrameworkVersion(db.Model):
    """One published version of the framework: areas, competencies and certificate rules."""

    __tablename__ = "framework_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 1, 2, 3… in publishing order; the highest is the current version.
    number: Mapped[int] = mapped_column(Integer, unique=True)
    #: The label of the source file, e.g. "0.1-draft".
    label: Mapped[str] = mapped_column(String(100), default="")
    #: The file's ``meta`` block (sources, confidence…) and where the version came from.
    meta: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")

    created_by = relationship("User")
    areas: Mapped[list["Area"]] = relationship(
        back_populates="version", order_by="Area.position", cascade="all, delete-orphan"
    )
    competencies: Mapped[list["Competency"]] = relationship(
        back_populates="version", order_by="Competency.position", cascade="all, delete-orphan"
    )
    rules: Mapped[list["CertificateRule"]] = relationship(
        back_populates="version", order_by="CertificateRule.id", cascade="all, delete-orphan"
    )

    def rule_for(self, target_group: str | None) -> "CertificateRule | None":
        return next((r for r in self.rules if r.target_group == target_group), None)

    def __repr__(self) -> str:
        return f"<FrameworkVersion {self.number} {self.label}>"


class Area(db.Model):
    """A domain of the framework (0 device use, 1 information… 6 AI)."""

    __tablename__ = "framework_areas"
    __table_args__ = (UniqueConstraint("version_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("framework_versions.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name_vi: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer, default=0)

    version: Mapped[FrameworkVersion] = relationship(back_populates="areas")
    competencies: Mapped[list["Competency"]] = relationship(
        back_populates="area", order_by="Competency.position"
    )


class Competency(db.Model):
    """A competency such as 2.3 "Using digital technologies for citizenship"."""

    __tablename__ = "framework_competencies"
    __table_args__ = (UniqueConstraint("version_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("framework_versions.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("framework_areas.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name_vi: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    version: Mapped[FrameworkVersion] = relationship(back_populates="competencies")
    area: Mapped[Area] = relationship(back_populates="competencies")


class CertificateRule(db.Model):
    """What one target group needs for the basic certificate under one version."""

    __tablename__ = "certificate_rules"
    __table_args__ = (UniqueConstraint("version_id", "target_group"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("framework_versions.id"), index=True)
    #: A TargetGroup value (public_sector, student, enterprise_worker, citizen).
    target_group: Mapped[str] = mapped_column(String(30))
    #: Competency codes, in framework order.
    required_codes: Mapped[list] = mapped_column(JSON, default=list)
    #: Sessions attended out of sessions held, in percent (0-100).
    min_attendance_pct: Mapped[int] = mapped_column(Integer, default=0)
    #: Hours of the sessions attended.
    min_hours: Mapped[float] = mapped_column(Float, default=0)
    #: Whether hours of held mentoring meetings the learner attended count toward
    #: ``min_hours`` (a per-group choice; default no).
    meeting_hours_count: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )

    version: Mapped[FrameworkVersion] = relationship(back_populates="rules")


class EvidenceKind(StrEnum):
    CHECKLIST = "checklist"  # (a) the trainer's practical checklist: "can do it"
    QUIZ = "quiz"  # (b) the commune quiz, passed
    MENTOR = "mentor"  # (c) a mentor's attestation
    MOOC = "mooc"  # (d) a certificate of an online course (binhdanhocvuso.gov.vn…)
    VNEID = "vneid"  # (e) confirmed on VNeID: covers every competency


EVIDENCE_KIND_LABELS = {
    EvidenceKind.CHECKLIST: _l("Practical checklist"),
    EvidenceKind.QUIZ: _l("Quiz"),
    EvidenceKind.MENTOR: _l("Mentor attestation"),
    EvidenceKind.MOOC: _l("Online course certificate"),
    EvidenceKind.VNEID: _l("VNeID confirmation"),
}

#: The competency code of a VNeID confirmation: it covers every competency.
ALL_COMPETENCIES = "*"


class Evidence(db.Model):
    """That a person showed a competency, how, who recorded it and when.

    Evidence is withdrawn, never deleted: who withdrew it and when stay on the record.
    """

    __tablename__ = "evidence"
    __table_args__ = (Index("ix_evidence_person_code", "person_id", "competency_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    #: A competency code of the framework, or "*" for a VNeID confirmation.
    competency_code: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    class_id: Mapped[int | None] = mapped_column(ForeignKey("classes.id"), index=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Kind-specific facts: {"platform", "number", "date"} for a MOOC, {"score"} for a quiz…
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_reason: Mapped[str] = mapped_column(String(300), default="")
    #: The learner's phone a quiz was passed on (None: staff, a helper, another kind).
    device_id: Mapped[int | None] = mapped_column(ForeignKey("checkin_devices.id"), index=True)
    #: Kept but not counted (eligibility) until staff confirm the phone's link.
    pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    person = relationship("Person")
    course_class = relationship("CourseClass")
    recorded_by = relationship("User", foreign_keys=[recorded_by_id])
    withdrawn_by = relationship("User", foreign_keys=[withdrawn_by_id])
    device = relationship("Device")

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None

    @property
    def phone_confirmed(self) -> bool:
        """The phone it was passed on is confirmed as the person's and still linked."""
        device = self.device
        return device is not None and device.confirmed_at is not None and device.revoked_at is None

    @property
    def counts(self) -> bool:
        """Whether eligibility counts it (see :meth:`counting`)."""
        return self.withdrawn_at is None and (not self.pending or self.phone_confirmed)

    @classmethod
    def counting(cls):
        """SQL: the evidence that counts: not withdrawn, and not passed on a learner's phone
        whose link staff have not confirmed (pending: kept, counted once confirmed; never
        when the link was undone)."""
        from webapp.checkin.models import Device

        confirmed = (
            select(Device.id)
            .where(
                Device.id == cls.device_id,
                Device.confirmed_at.is_not(None),
                Device.revoked_at.is_(None),
            )
            .exists()
        )
        return and_(cls.withdrawn_at.is_(None), or_(cls.pending.is_(False), confirmed))

    def __repr__(self) -> str:
        return f"<Evidence {self.id} {self.person_id} {self.competency_code} {self.kind}>"
