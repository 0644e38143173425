"""Places and people. No national ID number is ever stored."""

from datetime import date, datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.text import clean, digits, fold, name_key, name_sort_key
from webapp.timeutil import UTCDateTime

OLDER_PERSON_AGE = 60


class TargetGroup(StrEnum):
    """The four target groups of the national framework (PLAN.md)."""

    PUBLIC_SECTOR = "public_sector"
    STUDENT = "student"
    ENTERPRISE_WORKER = "enterprise_worker"
    CITIZEN = "citizen"


TARGET_GROUP_LABELS = {
    TargetGroup.PUBLIC_SECTOR: _l("Officials, civil servants, public employees"),
    TargetGroup.STUDENT: _l("School students"),
    TargetGroup.ENTERPRISE_WORKER: _l("Workers in firms and cooperatives"),
    TargetGroup.CITIZEN: _l("Adult residents"),
}


class DisabilityType(StrEnum):
    VISION = "vision"
    HEARING = "hearing"
    MOBILITY = "mobility"
    INTELLECTUAL = "intellectual"
    OTHER = "other"


DISABILITY_LABELS = {
    DisabilityType.VISION: _l("Vision"),
    DisabilityType.HEARING: _l("Hearing"),
    DisabilityType.MOBILITY: _l("Mobility"),
    DisabilityType.INTELLECTUAL: _l("Intellectual"),
    DisabilityType.OTHER: _l("Other disability"),
}


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"


SEX_LABELS = {Sex.FEMALE: _l("Female"), Sex.MALE: _l("Male")}


class Segment(StrEnum):
    """Priority segments classes are scheduled for (a person may be in several)."""

    OLDER = "older"
    DISABILITY = "disability"
    TRADER_FARMER = "trader_farmer"
    ETHNIC_MINORITY = "ethnic_minority"
    POOR_HOUSEHOLD = "poor_household"


SEGMENT_LABELS = {
    Segment.OLDER: _l("Older person (60+)"),
    Segment.DISABILITY: _l("Person with a disability"),
    Segment.TRADER_FARMER: _l("Small trader or farmer"),
    Segment.ETHNIC_MINORITY: _l("Ethnic minority"),
    Segment.POOR_HOUSEHOLD: _l("Poor household"),
}


class Commune(db.Model):
    __tablename__ = "communes"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short upper-case code used in serial numbers, e.g. NGOKBAY.
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    province: Mapped[str] = mapped_column(String(120))
    #: The issuing body printed on documents, e.g. "Ủy ban nhân dân xã Ngọk Bay".
    committee_name: Mapped[str] = mapped_column(String(200), default="")

    villages: Mapped[list["Village"]] = relationship(
        back_populates="commune", order_by="Village.position"
    )

    def __repr__(self) -> str:
        return f"<Commune {self.code}>"


class Village(db.Model):
    """A thôn (village) of a commune."""

    __tablename__ = "villages"
    __table_args__ = (UniqueConstraint("commune_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    #: Display order within the commune.
    position: Mapped[int] = mapped_column(Integer, default=0)

    commune: Mapped[Commune] = relationship(back_populates="villages")

    def __repr__(self) -> str:
        return f"<Village {self.name}>"


class Household(db.Model):
    __tablename__ = "households"
    __table_args__ = (UniqueConstraint("commune_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), index=True)
    #: The commune's own household number, e.g. "T1-023".
    code: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(200), default="")
    is_poor: Mapped[bool] = mapped_column(Boolean, default=False)

    village: Mapped[Village] = relationship()
    members: Mapped[list["Person"]] = relationship(
        back_populates="household", order_by="Person.sort_key"
    )

    def __repr__(self) -> str:
        return f"<Household {self.code}>"


class Person(db.Model):
    __tablename__ = "persons"
    __table_args__ = (
        Index("ix_persons_duplicate", "village_id", "birth_year", "name_key"),
        Index("ix_persons_commune_sort", "commune_id", "sort_key"),
        # A learner identifies with phone number and birth year on the check-in page.
        Index("ix_persons_phone", "phone"),
        # The reports count a commune's people of a group by village and household, as of a
        # moment, from this index alone (webapp/reports/figures.py).
        Index(
            "ix_persons_reports",
            "commune_id",
            "target_group",
            "village_id",
            "created_at",
            "household_id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(120))
    #: ICU Vietnamese sort key (given name, then the rest); derived from full_name.
    sort_key: Mapped[bytes] = mapped_column(LargeBinary)
    #: Case-folded name with diacritics, for duplicate matching; derived from full_name.
    name_key: Mapped[str] = mapped_column(String(120))
    #: Name and phone without diacritics, for search-as-you-type; derived.
    search_text: Mapped[str] = mapped_column(String(200))
    birth_year: Mapped[int] = mapped_column(Integer, index=True)
    sex: Mapped[str | None] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(20))
    target_group: Mapped[str] = mapped_column(String(30), index=True)
    disability: Mapped[str | None] = mapped_column(String(20))
    trader_farmer: Mapped[bool] = mapped_column(Boolean, default=False)
    ethnic_minority: Mapped[bool] = mapped_column(Boolean, default=False)
    vneid_level2: Mapped[bool] = mapped_column(Boolean, default=False)
    vneid_level2_on: Mapped[date | None] = mapped_column(Date)
    digital_signature: Mapped[bool] = mapped_column(Boolean, default=False)
    digital_signature_on: Mapped[date | None] = mapped_column(Date)
    #: Consent to data processing: the day it was given and who recorded it.
    consent_on: Mapped[date | None] = mapped_column(Date)
    consent_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Consent withdrawn (then not processed until given again: webapp.people.consent).
    consent_withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Processing restricted at the person's request (kept, not used).
    restricted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Personal fields erased at the person's request (webapp.people.erasure).
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Short code on the learner's printed QR card, typed when there is no card or phone
    #: (given when first needed: cards, roster, sign-in sheet).
    learner_code: Mapped[str | None] = mapped_column(String(8), unique=True)

    village: Mapped[Village] = relationship()
    household: Mapped[Household | None] = relationship(back_populates="members")
    consent_recorded_by = relationship("User")

    def set_name(self, full_name: str) -> None:
        """Set the name (NFC) and every key derived from it."""
        self.full_name = clean(full_name)
        self.sort_key = name_sort_key(self.full_name)
        self.name_key = name_key(self.full_name)
        self.refresh_search_text()

    def refresh_search_text(self) -> None:
        """Recompute the search text from the name and phone."""
        self.search_text = f"{fold(self.full_name)} {digits(self.phone)}".strip()

    def age_in(self, year: int) -> int:
        return year - self.birth_year

    def segments(self, year: int) -> list[Segment]:
        """The person's segments; 'older' is derived from the birth year."""
        found = []
        if self.age_in(year) >= OLDER_PERSON_AGE:
            found.append(Segment.OLDER)
        if self.disability:
            found.append(Segment.DISABILITY)
        if self.trader_farmer:
            found.append(Segment.TRADER_FARMER)
        if self.ethnic_minority:
            found.append(Segment.ETHNIC_MINORITY)
        if self.household is not None and self.household.is_poor:
            found.append(Segment.POOR_HOUSEHOLD)
        return found

    def __repr__(self) -> str:
        return f"<Person {self.id} {self.full_name}>"


class ImportBatch(db.Model):
    """An uploaded list of persons, kept until it is committed (all rows or none).

    The file lives in the database, not on one host's disk, so the preview and the commit
    may be served by different app processes or hosts.
    """

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Unguessable handle used in the preview and commit URLs.
    token: Mapped[str] = mapped_column(String(43), unique=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    #: The file's rows as text, read once at upload (``importer.parse``): the preview and
    #: the commit never read the file again. Dropped with the file once committed.
    parsed_rows: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    committed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rows_written: Mapped[int | None] = mapped_column(Integer)

    commune: Mapped[Commune] = relationship()
    uploaded_by = relationship("User")
