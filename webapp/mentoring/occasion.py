"""A mentoring meeting as an occasion of the one attendance service
(:mod:`webapp.checkin.occasions`): the mentor ticks mentees, a mentee scans the meeting's QR
on their phone, or the mentor scans a learner card, and each records one attendance row.

Who belongs to a meeting: the mentor's mentees whose mentorship ran at the meeting's time.
Nobody is late to a home visit, and nobody asks to join one (a mentee is assigned by the
commune). Importing this module registers the kind.
"""

from datetime import datetime

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, bindparam, exists, or_, select

from webapp.accounts.models import User
from webapp.checkin.models import ATTENDED, Attendance, CheckinPoint, OccasionKind
from webapp.checkin.occasions import KINDS, Occasion, read_point, window_margins
from webapp.extensions import db
from webapp.mentoring.access import can_manage_mentor
from webapp.mentoring.models import Meeting, Mentor, Mentorship
from webapp.people.models import Person


def _ran_during(mentorship, mentor_id, starts_at, ends_at):
    """The mentorship (a table or the model) is the mentor's and ran during the meeting."""
    return and_(
        mentorship.mentor_id == mentor_id,
        mentorship.started_at <= ends_at,
        or_(mentorship.ended_at.is_(None), mentorship.ended_at > starts_at),
    )


class MeetingOccasion(Occasion):
    kind = OccasionKind.MEETING
    #: A mentee is assigned by the commune: the learner's page offers no "ask to join".
    takes_joins = False
    not_member_message = _l("%(name)s is not a mentee of this digital ambassador.")

    def __init__(self, meeting: Meeting):
        self._meeting: Meeting | None = meeting
        self.id, self.commune_id = meeting.id, meeting.commune_id
        self.mentor_id = meeting.mentor_id
        self.starts_at, self.ends_at = meeting.starts_at, meeting.ends_at
        self._title = None

    @classmethod
    def _of_row(cls, row) -> "MeetingOccasion":
        self = cls.__new__(cls)
        self._meeting = None
        self.id, self.commune_id, self.mentor_id = row.meeting_id, row.commune_id, row.mentor_id
        self.starts_at, self.ends_at = row.starts_at, row.ends_at
        self._title = _title(row.mentor_name)
        return self

    @property
    def meeting(self) -> Meeting:
        if self._meeting is None:
            self._meeting = db.session.get(Meeting, self.id)
        return self._meeting

    @property
    def cancelled(self) -> bool:
        return False

    @property
    def title(self) -> str:
        if self._title is None:
            self._title = _title(self.meeting.mentor.person.full_name)
        return self._title

    @property
    def late_from(self) -> datetime:
        return self.ends_at  # nobody is late to a home visit

    def can_run(self, actor: User) -> bool:
        """The mentor (through their linked log-in, while a mentor), or who manages them."""
        mentor = self.meeting.mentor
        if mentor.user_id == actor.id and mentor.active:
            return True
        return can_manage_mentor(actor, mentor)

    def members(self) -> Select:
        return (
            select(Person.id)
            .join(Mentorship, Mentorship.person_id == Person.id)
            .where(_ran_during(Mentorship, self.mentor_id, self.starts_at, self.ends_at))
        )

    def admit(self, person: Person, *, actor: User, now: datetime) -> bool:
        return False

    @classmethod
    def attended_hours(cls, person_ids) -> dict[int, float]:
        """Hours of the held meetings each person attended (one query)."""
        ids = list(set(person_ids))
        if not ids:
            return {}
        rows = db.session.execute(
            select(Attendance.person_id, Meeting.starts_at, Meeting.ends_at)
            .join(
                Meeting,
                and_(
                    Attendance.occasion_kind == cls.kind,
                    Attendance.occasion_id == Meeting.id,
                    Attendance.status.in_(ATTENDED),
                    Meeting.held.is_(True),
                ),
            )
            .where(Attendance.person_id.in_(ids))
        )
        hours: dict[int, float] = {}
        for person_id, starts_at, ends_at in rows:
            length = (ends_at - starts_at).total_seconds() / 3600
            hours[person_id] = hours.get(person_id, 0.0) + length
        return hours

    @classmethod
    def load(cls, occasion_id: int) -> "MeetingOccasion | None":
        meeting = db.session.get(Meeting, occasion_id)
        return cls(meeting) if meeting is not None else None

    @classmethod
    def open_ids(cls, now: datetime) -> Select:
        before, after = window_margins()
        return select(Meeting.id).where(
            Meeting.starts_at <= now + before, Meeting.ends_at >= now - after, Meeting.held
        )

    @classmethod
    def at_point(cls, token: str, *, joined=None):
        rows = read_point(_AT_POINT, _AT_POINT_JOINED, _member_of_meeting, token, joined)
        return (rows, cls._of_row(rows[0])) if rows else None


def _title(mentor_name: str) -> str:
    return gettext("Meeting with digital ambassador %(name)s", name=mentor_name)


_P, _M = CheckinPoint.__table__, Meeting.__table__
_MR, _PE, _MS = Mentor.__table__, Person.__table__, Mentorship.__table__
_AT_POINT = (
    select(
        *_P.c,
        _M.c.id.label("meeting_id"),
        _M.c.starts_at,
        _M.c.ends_at,
        _M.c.commune_id,
        _M.c.mentor_id,
        _PE.c.full_name.label("mentor_name"),
    )
    .join(_M, _M.c.id == _P.c.occasion_id)
    .join(_MR, _MR.c.id == _M.c.mentor_id)
    .join(_PE, _PE.c.id == _MR.c.person_id)
    .where(_P.c.token == bindparam("token"), _P.c.occasion_kind == OccasionKind.MEETING)
)
_AT_POINT_JOINED: dict[str, Select] = {}


def _member_of_meeting(person_id):
    return (
        exists()
        .where(
            _MS.c.person_id == person_id,
            _ran_during(_MS.c, _M.c.mentor_id, _M.c.starts_at, _M.c.ends_at),
        )
        .label("identity_member")
    )


KINDS[MeetingOccasion.kind] = MeetingOccasion
