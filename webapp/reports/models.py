"""The commune plan's indicators (as versioned data), the populations the organiser enters as
denominators, and the periodic reports submitted to the province (frozen figures).

``webapp.reports`` only reads the other domains; these are its own tables.
"""

from datetime import date, datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.errors import DomainError
from webapp.extensions import db
from webapp.timeutil import UTCDateTime


class ReportsError(DomainError):
    """A reporting rule refused an action (``code``: see docs/reports.md)."""


class Measure(StrEnum):
    """What the product counts for an indicator (its numerator); each is one SQL aggregate in
    :mod:`webapp.reports.figures`."""

    #: People of the group holding a certificate not revoked.
    CERTIFIED = "certified"
    #: People of the group with evidence (that counts) for every competency their group's
    #: certificate rule requires in the current framework version.
    ALL_COMPETENCIES = "all_competencies"
    #: People of the group confirmed on VNeID as having reached the standard.
    VNEID_CONFIRMED = "vneid_confirmed"
    #: People of the group with a digital or electronic signature.
    DIGITAL_SIGNATURE = "digital_signature"
    #: People of the group aged 16 or more with a VNeID level 2 digital identity.
    VNEID_LEVEL2 = "vneid_level2"
    #: People of the group who attended at least one class session.
    TRAINED = "trained"
    #: Households with at least one member who attended a class session (Gia đình số).
    HOUSEHOLD_TRAINED = "household_trained"
    #: Active mentors guiding at least the minimum number of mentees (Đại sứ số).
    MENTOR_MINIMUM = "mentor_minimum"


#: What each measure counts: people, households or mentors.
MEASURE_UNITS = {
    Measure.HOUSEHOLD_TRAINED: "household",
    Measure.MENTOR_MINIMUM: "mentor",
}

MEASURE_LABELS = {
    Measure.CERTIFIED: _l("holding a certificate (not revoked)"),
    Measure.ALL_COMPETENCIES: _l("with evidence for every competency of their group's rule"),
    Measure.VNEID_CONFIRMED: _l("confirmed on VNeID as reaching the digital-skills standard"),
    Measure.DIGITAL_SIGNATURE: _l("with a digital or electronic signature"),
    Measure.VNEID_LEVEL2: _l("aged 16 or more with a VNeID level 2 digital identity"),
    Measure.TRAINED: _l("who attended at least one class session"),
    Measure.HOUSEHOLD_TRAINED: _l("households with at least one member who attended a class"),
    Measure.MENTOR_MINIMUM: _l("mentors guiding at least the minimum number of people"),
}


class Denominator(StrEnum):
    #: The group's population per village, entered by the organiser for the year.
    ENTERED = "entered"
    #: The registry's count (people of the group, households, or active mentors).
    REGISTRY = "registry"


DENOMINATOR_LABELS = {
    Denominator.ENTERED: _l("population entered by the commune for the year"),
    Denominator.REGISTRY: _l("people in the registry"),
}


class Indicator(db.Model):
    """One target of the plan for one year ("adults with basic digital skills: 80 % in 2025").

    Versioned like the framework: a change makes a new row (``version`` + 1) and marks the
    old one replaced; a submitted report keeps the definitions it was computed with.
    """

    __tablename__ = "report_indicators"
    __table_args__ = (UniqueConstraint("code", "year", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable across years and versions ("adults_basic"); with ``year`` it names the target.
    code: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: A TargetGroup value, or None: everyone (households, mentors).
    target_group: Mapped[str | None] = mapped_column(String(30))
    measure: Mapped[str] = mapped_column(String(30))
    denominator: Mapped[str] = mapped_column(String(20), default=Denominator.REGISTRY)
    #: The target in percent (0-100).
    target_pct: Mapped[float] = mapped_column(Float)
    name_vi: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    #: The plan's words for the target ("> 50 %"), shown beside the number.
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: When a newer version replaced it (None: in force).
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by = relationship("User")

    @property
    def unit(self) -> str:
        return MEASURE_UNITS.get(self.measure, "person")

    def __repr__(self) -> str:
        return f"<Indicator {self.code} {self.year} v{self.version}>"


class Population(db.Model):
    """How many people of a target group live in a village in a year (a denominator)."""

    __tablename__ = "report_populations"
    __table_args__ = (UniqueConstraint("village_id", "year", "target_group"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"), index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    year: Mapped[int] = mapped_column(Integer)
    target_group: Mapped[str] = mapped_column(String(30))
    count: Mapped[int] = mapped_column(Integer)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class ReportStatus(StrEnum):
    SUBMITTED = "submitted"
    REOPENED = "reopened"


class Report(db.Model):
    """A commune's report for a period, submitted to the province: its figures frozen
    (``figures``, computed as of ``as_of``), reopened only by the province."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("commune_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"))
    #: "2026", "2026-Q2" or "2026-05".
    period: Mapped[str] = mapped_column(String(10))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))
    #: The frozen figures (see :func:`webapp.reports.figures.snapshot`).
    figures: Mapped[dict] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reopen_reason: Mapped[str] = mapped_column(String(300), default="")

    commune = relationship("Commune")
    submitted_by = relationship("User", foreign_keys=[submitted_by_id])
    reopened_by = relationship("User", foreign_keys=[reopened_by_id])


# --- who counts, kept current (webapp.reports.reach) -------------------------------------------


class Reach(StrEnum):
    """What a span of :class:`ReachSpan` says about its subject: counted in a population
    (a denominator) or reached for a measure (a numerator) from ``since`` until ``until``."""

    #: A person in the registry (from their registration).
    REGISTERED = "registered"
    #: A person in the registry aged 16 or more (from the year they turn 16).
    REGISTERED_16 = "registered16"
    #: A household with a registered member.
    HOUSEHOLD = "household"


class ReachSpan(db.Model):
    """One stretch of time during which a person (or a household) counted for a measure or a
    population, where they live now. Rebuilt from the other domains' records by
    :func:`webapp.reports.reach.refresh`; the spans of one subject and measure never overlap,
    so a count of spans covering a moment counts each subject once."""

    __tablename__ = "report_spans"
    __table_args__ = (
        Index("ix_report_spans_subject", "subject_id", "measure"),
        Index(
            "ix_report_spans_unit",
            "village_id",
            "measure",
            "target_group",
            "until",
            "since",
            "household_id",
        ),
        Index("ix_report_spans_household", "household_id", "measure", "since"),
        Index("ix_report_spans_since", "since"),
        Index("ix_report_spans_until", "until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: A person's id, or a household's for the household measures.
    subject_id: Mapped[int] = mapped_column(Integer)
    #: A :class:`Measure` (numerator) or a :class:`Reach` (population).
    measure: Mapped[str] = mapped_column(String(30))
    #: The person's target group ("" for households).
    target_group: Mapped[str] = mapped_column(String(30), default="")
    commune_id: Mapped[int] = mapped_column(Integer)
    village_id: Mapped[int] = mapped_column(Integer)
    household_id: Mapped[int | None] = mapped_column(Integer)
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    #: None: still counting.
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReachCount(db.Model):
    """How many spans of a village, group and measure are still open (``until`` is None):
    the figures as of now without a scan of the spans."""

    __tablename__ = "report_counts"

    village_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_group: Mapped[str] = mapped_column(String(30), primary_key=True)
    measure: Mapped[str] = mapped_column(String(30), primary_key=True)
    commune_id: Mapped[int] = mapped_column(Integer, index=True)
    count: Mapped[int] = mapped_column(Integer)


class ReachDirty(db.Model):
    """A person whose spans must be rebuilt: written by database triggers on every change of
    the records the figures read (attendance, certificates, evidence, phones, people, rules),
    whoever writes them; consumed by :func:`webapp.reports.reach.refresh`."""

    __tablename__ = "report_dirty"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(Integer)
