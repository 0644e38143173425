"""What a mentor's phone page shows (``/mentor``): their mentees by household, the most
overdue first, each with two facts (last met, what they still lack for a certificate), and
their latest meetings. A fixed number of SQL statements whatever the number of mentees."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp.accounts.models import User
from webapp.extensions import db
from webapp.learning import framework
from webapp.learning.eligibility import missing_competencies
from webapp.mentoring import meetings, queries, services
from webapp.mentoring.models import Meeting, Mentor
from webapp.mentoring.services import ContactStatus
from webapp.people.models import Household, Person

RECENT_MEETINGS = 5


@dataclass
class MenteeRow:
    status: ContactStatus
    #: Competency codes still missing for their group's certificate; None: no rule.
    missing: list[str] | None

    @property
    def person(self) -> Person:
        return self.status.mentorship.person


@dataclass
class HouseholdGroup:
    """Mentees of one household (or one mentee without a household)."""

    household: Household | None
    rows: list[MenteeRow] = field(default_factory=list)

    @property
    def overdue(self) -> bool:
        return any(r.status.overdue for r in self.rows)

    @property
    def person_ids(self) -> list[int]:
        return [r.person.id for r in self.rows]


@dataclass
class MentorHome:
    mentor: Mentor | None
    groups: list[HouseholdGroup]
    count: int
    minimum: int
    recent: list[Meeting]
    #: Meeting id -> person id -> attendance status.
    present: dict[int, dict[int, str]]
    #: Meeting id -> the people who confirmed it.
    confirmed: dict[int, set[int]]
    #: Person id -> name, for the mentees met at the recent meetings.
    names: dict[int, str]

    @property
    def under_minimum(self) -> bool:
        return self.mentor is not None and self.count < self.minimum

    @property
    def overdue_count(self) -> int:
        return sum(1 for g in self.groups for r in g.rows if r.status.overdue)


def _grouped(statuses: list[ContactStatus], missing: dict) -> list[HouseholdGroup]:
    """Households in the order of their most urgent member (``statuses`` is sorted most
    overdue first), members in that order too."""
    groups: dict[object, HouseholdGroup] = {}
    for status in statuses:
        person = status.mentorship.person
        key = person.household_id or f"person-{person.id}"
        group = groups.setdefault(key, HouseholdGroup(person.household))
        group.rows.append(MenteeRow(status, missing.get(person.id)))
    return list(groups.values())


def mentor_home(user: User, *, now: datetime) -> MentorHome:
    mentor = queries.mentor_of(user)
    mentorships = queries.my_mentees(user)
    statuses = services.contact_statuses(mentorships, now=now)
    missing = missing_competencies([m.person for m in mentorships])
    recent = []
    if mentor is not None:
        recent = list(
            db.session.scalars(
                select(Meeting)
                .where(Meeting.mentor_id == mentor.id)
                .order_by(Meeting.starts_at.desc(), Meeting.id.desc())
                .limit(RECENT_MEETINGS)
            )
        )
    ids = [m.id for m in recent]
    present = meetings.attendees(ids)
    names = {m.person.id: m.person.full_name for m in mentorships}
    return MentorHome(
        mentor=mentor,
        groups=_grouped(statuses, missing),
        count=len(mentorships),
        minimum=services.mentee_minimum(),
        recent=recent,
        present=present,
        confirmed=meetings.confirmed_ids(ids),
        names=names,
    )


@dataclass
class MeetingPage:
    meeting: Meeting
    #: Person id -> attendance status.
    present: dict[int, str]
    people: dict[int, Person]
    confirmed: set[int]
    #: Person id -> codes attested at this meeting.
    attested: dict[int, set[str]]
    #: Code -> name of the competencies practised.
    practised: dict[str, str]


def meeting_page(meeting: Meeting) -> MeetingPage:
    present = meetings.attendees([meeting.id])[meeting.id]
    people = {
        p.id: p
        for p in db.session.scalars(
            select(Person)
            .where(Person.id.in_(list(present)))
            .options(selectinload(Person.household))
        )
    }
    names = framework.competency_names(framework.current_version())
    return MeetingPage(
        meeting=meeting,
        present=present,
        people=people,
        confirmed=meetings.confirmed_ids([meeting.id])[meeting.id],
        attested=meetings.attested_at(meeting),
        practised={c: names.get(c, "") for c in meeting.competency_codes},
    )
