"""Mentors (Đại sứ số) and mentorships: who guides whom, since when, and how it ended."""

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.errors import DomainError
from webapp.extensions import db
from webapp.timeutil import UTCDateTime

#: Settings (app config key, default). Read with ``current_app.config.get(key, default)``
#: through :mod:`webapp.mentoring.services` (``mentee_minimum``, ``contact_days``).
MIN_MENTEES_KEY = "MENTORING_MIN_MENTEES"
#: The plan's Đại sứ số model: each mentor guides at least five people.
MIN_MENTEES_DEFAULT = 5
CONTACT_DAYS_KEY = "MENTORING_CONTACT_DAYS"
#: Days between held contacts a mentee may go before being flagged, per target group
#: (``webapp.people.models.TargetGroup`` values); "default" for every group not listed.
CONTACT_DAYS_DEFAULT = {"default": 14}
LATE_DAYS_KEY = "MENTORING_LATE_DAYS"
#: How many days after a meeting it may still be logged (marked as entered later).
LATE_DAYS_DEFAULT = 3


class MentoringError(DomainError):
    """A mentoring rule refused an action (``code``: see docs/mentoring.md)."""


class Organisation(StrEnum):
    """The body a mentor volunteers with (the plan's Đại sứ số network)."""

    YOUTH_UNION = "youth_union"
    SCHOOL = "school"
    COMMUNITY_DIGITAL_TEAM = "community_digital_team"
    PUBLIC_SERVICE_CENTRE = "public_service_centre"
    OTHER = "other"


ORGANISATION_LABELS = {
    Organisation.YOUTH_UNION: _l("Youth Union"),
    Organisation.SCHOOL: _l("School"),
    Organisation.COMMUNITY_DIGITAL_TEAM: _l("Community digital technology team"),
    Organisation.PUBLIC_SERVICE_CENTRE: _l("Public administrative service centre"),
    Organisation.OTHER: _l("Other organisation"),
}


class EndReason(StrEnum):
    """Why a mentorship ended (Big Brothers Big Sisters: a match closes with a reason)."""

    FINISHED = "finished"
    MOVED_AWAY = "moved_away"
    STOPPED = "stopped"
    REASSIGNED = "reassigned"


END_REASON_LABELS = {
    EndReason.FINISHED: _l("Finished: can manage on their own"),
    EndReason.MOVED_AWAY: _l("Moved away"),
    EndReason.STOPPED: _l("Stopped"),
    EndReason.REASSIGNED: _l("Given to another mentor"),
}


class Mentor(db.Model):
    """A registered person who guides others (Đại sứ số), at most one record per person.

    Ending keeps the record (``ended_at``); making the person a mentor again reopens it.
    """

    __tablename__ = "mentors"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), unique=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"), index=True)
    #: The village the mentor works in; None: the whole commune (e.g. the service counter).
    #: Suggestions then come from the village the mentor lives in.
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"), index=True)
    organisation: Mapped[str] = mapped_column(String(30))
    #: A helper at the counter of the public administrative service centre (the plan wants
    #: at least one per centre).
    counter_helper: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The mentor's log-in (role mentor, same commune), if they have one.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    person = relationship("Person")
    village = relationship("Village")
    user = relationship("User", foreign_keys=[user_id])
    created_by = relationship("User", foreign_keys=[created_by_id])
    ended_by = relationship("User", foreign_keys=[ended_by_id])

    @hybrid_property
    def active(self) -> bool:
        """Whether the person is a mentor now (usable in queries: ``Mentor.active``)."""
        return self.ended_at is None

    @active.inplace.expression
    @classmethod
    def _active_expression(cls):
        return cls.ended_at.is_(None)

    @property
    def home_village_id(self) -> int:
        """The village the mentor's suggestions come from: theirs, or where they live."""
        return self.village_id if self.village_id is not None else self.person.village_id

    def __repr__(self) -> str:
        return f"<Mentor {self.id} person {self.person_id}>"


class Mentorship(db.Model):
    """A mentor guiding one mentee, from ``started_at`` until ``ended_at`` (kept when ended:
    the history of who guided whom).

    At most one active mentorship per mentee, enforced by the database (a partial unique
    index), so two assignments made at the same moment cannot both succeed.
    """

    __tablename__ = "mentorships"
    __table_args__ = (
        Index(
            "uq_mentorships_active_person",
            "person_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("mentors.id"), index=True)
    #: The mentee.
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    end_reason: Mapped[str | None] = mapped_column(String(20))
    end_note: Mapped[str] = mapped_column(Text, default="")

    mentor: Mapped[Mentor] = relationship()
    person = relationship("Person")
    started_by = relationship("User", foreign_keys=[started_by_id])
    ended_by = relationship("User", foreign_keys=[ended_by_id])

    @hybrid_property
    def active(self) -> bool:
        """Whether the mentorship is running (usable in queries: ``Mentorship.active``)."""
        return self.ended_at is None

    @active.inplace.expression
    @classmethod
    def _active_expression(cls):
        return cls.ended_at.is_(None)

    def __repr__(self) -> str:
        return f"<Mentorship {self.id} mentor {self.mentor_id} person {self.person_id}>"


class MeetingPlace(StrEnum):
    HOME = "home"
    CULTURAL_HOUSE = "cultural_house"
    SERVICE_CENTRE = "service_centre"
    PHONE = "phone"


MEETING_PLACE_LABELS = {
    MeetingPlace.HOME: _l("Home visit"),
    MeetingPlace.CULTURAL_HOUSE: _l("Village cultural house"),
    MeetingPlace.SERVICE_CENTRE: _l("Public administrative service centre"),
    MeetingPlace.PHONE: _l("Phone call"),
}


class Meeting(db.Model):
    """A mentor meeting one or several mentees (a household), or trying to (``held`` False:
    nobody home; it does not count as contact).

    Who was there is attendance (``webapp.checkin.models.Attendance`` of occasion kind
    "meeting"): the mentor's ticks, the mentee's own scan of the meeting's QR, or the
    mentor's scan of a learner card, through the one attendance service. For a meeting not
    held, the people visited are recorded absent.
    """

    __tablename__ = "mentoring_meetings"
    __table_args__ = (
        Index("ix_mentoring_meetings_mentor_starts", "mentor_id", "starts_at"),
        UniqueConstraint("mentor_id", "nonce"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("mentors.id"))
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(20))
    held: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Competency codes practised (framework order); the attested ones are evidence.
    competency_codes: Mapped[list] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    logged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    logged_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: Logged after the meeting had ended (the same day or within MENTORING_LATE_DAYS).
    entered_later: Mapped[bool] = mapped_column(Boolean, default=False)
    #: A random value of the form (or an offline phone's queue) that logged it: the same
    #: form sent twice logs one meeting.
    nonce: Mapped[str | None] = mapped_column(String(32))

    mentor: Mapped[Mentor] = relationship()
    logged_by = relationship("User")

    @property
    def minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    def __repr__(self) -> str:
        return f"<Meeting {self.id} mentor {self.mentor_id} {self.starts_at:%Y-%m-%d}>"


class MeetingConfirmation(db.Model):
    """A mentee confirmed on their own remembered phone that the meeting took place."""

    __tablename__ = "mentoring_confirmations"
    __table_args__ = (UniqueConstraint("meeting_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("mentoring_meetings.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    #: The remembered phone (``checkin_devices.id``) it was confirmed on.
    device_id: Mapped[int | None] = mapped_column(ForeignKey("checkin_devices.id"))
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime)
