"""The organiser's view of the mentoring network: the numbers of /mentoring, the weekly digest
and the Excel export, for what the acting user may see (``queries.scope_mentors``,
``queries.scope_mentorships``, ``people.queries.scope_people``: a village lead, their village).

Plain functions of the acting user and ``now`` (no request). The counts are ``GROUP BY``
queries and every function runs a fixed number of statements whatever the number of mentors
and mentees; who is overdue is :func:`webapp.mentoring.services.overdue` (the one rule).
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import openpyxl
from sqlalchemy import and_, case, distinct, func, select
from sqlalchemy.orm import selectinload

from webapp.accounts.models import User
from webapp.checkin.models import ATTENDED, Attendance, OccasionKind
from webapp.extensions import db
from webapp.mentoring import meetings, queries, services
from webapp.mentoring.models import (
    MEETING_PLACE_LABELS,
    ORGANISATION_LABELS,
    Meeting,
    MeetingConfirmation,
    Mentor,
    Mentorship,
)
from webapp.people import queries as people_queries
from webapp.people.models import Commune, Person, Segment, Village
from webapp.spreadsheet import DATE, DATETIME, Styled, append, format_table, to_bytes
from webapp.timeutil import LOCAL_TZ, to_local

#: How far back the weekly digest looks for visits not held and meetings not confirmed.
DIGEST_DAYS = 7
HOURS = "0.0"


# --- the month and the scope -----------------------------------------------------------------


def month_of(now: datetime) -> tuple[datetime, datetime]:
    """The Vietnam calendar month of ``now``: its first moment and the next month's (UTC)."""
    local = to_local(now).date().replace(day=1)
    following = (local + timedelta(days=32)).replace(day=1)
    return (
        datetime.combine(local, time(), LOCAL_TZ).astimezone(now.tzinfo),
        datetime.combine(following, time(), LOCAL_TZ).astimezone(now.tzinfo),
    )


def _scoped_mentor_ids(user: User):
    return queries.scope_mentors(select(Mentor.id), user).where(Mentor.active)


def _minutes(meeting=Meeting):
    """SQL: a meeting's length in minutes (the dialects count time differently)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return (func.julianday(meeting.ends_at) - func.julianday(meeting.starts_at)) * 1440
    return func.extract("epoch", meeting.ends_at - meeting.starts_at) / 60


def _mentors(user: User) -> list[Mentor]:
    """The active mentors of the user's scope, with their person and village, by name."""
    stmt = (
        queries.scope_mentors(select(Mentor), user)
        .join(Person, Person.id == Mentor.person_id)
        .where(Mentor.active)
        .options(selectinload(Mentor.person), selectinload(Mentor.village))
        .order_by(Person.sort_key, Mentor.id)
    )
    return list(db.session.scalars(stmt))


def mentorships(user: User) -> list[Mentorship]:
    """The active mentorships of the user's scope (their mentees), with the mentee, their
    village and household and the mentor's person loaded, in Vietnamese name order."""
    stmt = (
        queries.scope_mentorships(select(Mentorship), user)
        .join(Person, Person.id == Mentorship.person_id)
        .where(Mentorship.active)
        .options(
            selectinload(Mentorship.person).selectinload(Person.household),
            selectinload(Mentorship.person).selectinload(Person.village),
            selectinload(Mentorship.mentor).selectinload(Mentor.person),
        )
        .order_by(Person.sort_key, Person.id)
    )
    return list(db.session.scalars(stmt))


# --- the overview ----------------------------------------------------------------------------


@dataclass
class MentorRow:
    """One active mentor of the table, with this month's numbers."""

    mentor: Mentor
    mentees: int
    meetings: int
    minutes: float
    overdue: int
    under_minimum: bool

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 1)


@dataclass
class Totals:
    mentors: int = 0
    mentees: int = 0
    under_minimum: int = 0
    overdue: int = 0
    meetings: int = 0
    hours: float = 0.0
    confirmed: int = 0


@dataclass
class Unmatched:
    """A village's priority people (older 60+, disability, poor household) without a mentor."""

    village: str
    people: int
    by_segment: dict[str, int]


@dataclass
class Overview:
    month_start: datetime
    #: The month as shown: "12/2026".
    month: str
    rows: list[MentorRow]
    totals: Totals
    #: Active mentees per village: (village name, count), by name.
    by_village: list[tuple[str, int]]
    #: Active mentees in each segment (a mentee may be in several).
    by_segment: dict[str, int]
    unmatched: list[Unmatched]
    #: Communes of the scope without an active counter helper at the public-service centre.
    without_helper: list[Commune]
    minimum: int
    #: Each active mentorship's contact status (most overdue first), for the digest and export.
    statuses: list[services.ContactStatus] = field(default_factory=list)
    last_contact: dict[int, datetime] = field(default_factory=dict)


def _month_meetings(user: User, start: datetime, end: datetime) -> dict[int, tuple[int, float]]:
    """Held meetings and their minutes this month, per mentor of the scope (one query)."""
    rows = db.session.execute(
        select(Meeting.mentor_id, func.count(), func.sum(_minutes()))
        .where(
            Meeting.mentor_id.in_(_scoped_mentor_ids(user)),
            Meeting.held.is_(True),
            Meeting.starts_at >= start,
            Meeting.starts_at < end,
        )
        .group_by(Meeting.mentor_id)
    )
    return {mentor_id: (count, float(minutes or 0)) for mentor_id, count, minutes in rows}


def _confirmed_count(user: User, start: datetime, end: datetime) -> int:
    """Held meetings this month that a mentee confirmed on their phone (one query)."""
    return db.session.scalar(
        select(func.count(distinct(Meeting.id)))
        .join(MeetingConfirmation, MeetingConfirmation.meeting_id == Meeting.id)
        .where(
            Meeting.mentor_id.in_(_scoped_mentor_ids(user)),
            Meeting.held.is_(True),
            Meeting.starts_at >= start,
            Meeting.starts_at < end,
        )
    )


def _by_village(user: User) -> list[tuple[str, int]]:
    rows = db.session.execute(
        queries.scope_mentorships(select(Village.name, func.count()), user)
        .select_from(Mentorship)
        .join(Person, Person.id == Mentorship.person_id)
        .join(Village, Village.id == Person.village_id)
        .where(Mentorship.active)
        .group_by(Village.id, Village.name)
        .order_by(Village.name, Village.id)
    )
    return [(name, count) for name, count in rows]


def _segment_sums(year: int, segments):
    return [
        func.coalesce(func.sum(case((people_queries.segment_condition(s, year), 1), else_=0)), 0)
        for s in segments
    ]


def _by_segment(user: User, year: int) -> dict[str, int]:
    segments = list(Segment)
    row = db.session.execute(
        queries.scope_mentorships(select(*_segment_sums(year, segments)), user)
        .select_from(Mentorship)
        .join(Person, Person.id == Mentorship.person_id)
        .where(Mentorship.active)
    ).one()
    return {s: int(n) for s, n in zip(segments, row, strict=True)}


def _unmatched(user: User, year: int) -> list[Unmatched]:
    """Priority people of the scope with no active mentorship and not mentors, per village,
    the villages with the most first (one query; as ``services.suggestions`` finds them)."""
    segments = services.PRIORITY_SEGMENTS
    conditions = [people_queries.segment_condition(s, year) for s in segments]
    anyone = conditions[0] | conditions[1] | conditions[2]
    stmt = (
        people_queries.scope_people(
            select(Village.name, func.count(), *_segment_sums(year, segments)), user
        )
        .select_from(Person)
        .join(Village, Village.id == Person.village_id)
        .where(
            anyone,
            Person.id.not_in(select(Mentorship.person_id).where(Mentorship.active)),
            Person.id.not_in(select(Mentor.person_id).where(Mentor.active)),
        )
        .group_by(Village.id, Village.name)
        .order_by(func.count().desc(), Village.name)
    )
    return [
        Unmatched(name, count, {s: int(n) for s, n in zip(segments, sums, strict=True)})
        for name, count, *sums in db.session.execute(stmt)
    ]


def overview(user: User, *, now: datetime) -> Overview:
    """The mentoring network the user may see, this Vietnam calendar month: each active
    mentor's mentees, meetings, hours and overdue mentees, the totals, mentees per village
    and segment, unmatched priority people per village, communes without a counter helper."""
    start, end = month_of(now)
    found = _mentors(user)
    counts = queries.active_mentee_counts(m.id for m in found)
    active = mentorships(user)
    last_contact = meetings.last_contacts(m.person_id for m in active)
    statuses = services.contact_statuses(active, now=now, last_contact=last_contact)
    overdue = Counter(s.mentorship.mentor_id for s in statuses if s.overdue)
    held = _month_meetings(user, start, end)
    rows = [
        MentorRow(
            mentor=m,
            mentees=counts.get(m.id, 0),
            meetings=held.get(m.id, (0, 0.0))[0],
            minutes=held.get(m.id, (0, 0.0))[1],
            overdue=overdue.get(m.id, 0),
            under_minimum=services.under_minimum(m, counts.get(m.id, 0)),
        )
        for m in found
    ]
    totals = Totals(
        mentors=len(rows),
        mentees=len(active),
        under_minimum=sum(r.under_minimum for r in rows),
        overdue=sum(s.overdue for s in statuses),
        meetings=sum(r.meetings for r in rows),
        hours=round(sum(r.minutes for r in rows) / 60, 1),
        confirmed=_confirmed_count(user, start, end),
    )
    year = to_local(now).year
    communes = people_queries.communes_for(user)
    return Overview(
        month_start=start,
        month=to_local(start).strftime("%m/%Y"),
        rows=rows,
        totals=totals,
        by_village=_by_village(user),
        by_segment=_by_segment(user, year),
        unmatched=_unmatched(user, year),
        without_helper=[c for c in communes if not queries.has_counter_helper(c.id)],
        minimum=services.mentee_minimum(),
        statuses=statuses,
        last_contact=last_contact,
    )


# --- the weekly digest -----------------------------------------------------------------------


@dataclass
class Visit:
    """A meeting of the digest's week: not held (nobody home), or held and not confirmed."""

    meeting_id: int
    starts_at: datetime
    mentor_name: str
    place: str
    #: The mentees visited (not held) or who attended and have not confirmed (held).
    people: list[str]


@dataclass
class Digest:
    since: datetime
    overdue: list[services.ContactStatus]
    under_minimum: list[MentorRow]
    not_held: list[Visit]
    unconfirmed: list[Visit]
    minimum: int


def _week_visits(
    user: User, since: datetime, *, held: bool, village: Village | None = None
) -> list[Visit]:
    """The scope's meetings since ``since``, with the mentees of the scope (of ``village``)
    concerned: for a visit not held, who was visited; for a held one, who attended and did
    not confirm (one query)."""
    confirmed = (
        select(MeetingConfirmation.id)
        .where(
            MeetingConfirmation.meeting_id == Meeting.id,
            MeetingConfirmation.person_id == Attendance.person_id,
        )
        .exists()
    )
    mentor_person = Person.__table__.alias("mentor_person")
    stmt = people_queries.scope_people(
        select(Meeting.id, Meeting.starts_at, mentor_person.c.full_name, Meeting.place)
        .add_columns(Person.full_name)
        .join(
            Attendance,
            and_(
                Attendance.occasion_kind == OccasionKind.MEETING,
                Attendance.occasion_id == Meeting.id,
            ),
        )
        .join(Person, Person.id == Attendance.person_id)
        .join(Mentor, Mentor.id == Meeting.mentor_id)
        .join(mentor_person, mentor_person.c.id == Mentor.person_id),
        user,
    ).where(
        Meeting.mentor_id.in_(_scoped_mentor_ids(user)),
        Meeting.held.is_(held),
        Meeting.starts_at >= since,
    )
    if held:
        stmt = stmt.where(Attendance.status.in_(ATTENDED), ~confirmed)
    if village is not None:
        stmt = stmt.where(Person.village_id == village.id)
    visits: dict[int, Visit] = {}
    for meeting_id, starts_at, mentor_name, place, name in db.session.execute(
        stmt.order_by(Meeting.starts_at.desc(), Meeting.id, Person.sort_key)
    ):
        visit = visits.setdefault(meeting_id, Visit(meeting_id, starts_at, mentor_name, place, []))
        visit.people.append(name)
    return list(visits.values())


def digest(user: User, *, now: datetime, village: Village | None = None) -> Digest:
    """The people who need the supervisor's attention this week, in the user's scope (or one
    village of it, the part of its village lead): overdue mentees (most overdue first), mentors
    under the minimum, visits of the last 7 days where nobody was met, and mentees who have
    not confirmed a meeting of the last 7 days."""
    network = overview(user, now=now)
    since = now - timedelta(days=DIGEST_DAYS)
    overdue = [s for s in network.statuses if s.overdue]
    under = [r for r in network.rows if r.under_minimum]
    if village is not None:
        overdue = [s for s in overdue if s.mentorship.person.village_id == village.id]
        under = [r for r in under if r.mentor.home_village_id == village.id]
    return Digest(
        since=since,
        overdue=overdue,
        under_minimum=under,
        not_held=_week_visits(user, since, held=False, village=village),
        unconfirmed=_week_visits(user, since, held=True, village=village),
        minimum=network.minimum,
    )


# --- the Excel export ------------------------------------------------------------------------

MENTOR_HEADERS = [
    "Đại sứ số",
    "Tổ chức",
    "Địa bàn",
    "Người được hướng dẫn",
    "Buổi gặp trong tháng",
    "Số giờ trong tháng",
    "Quá hạn liên lạc",
    "Dưới mức tối thiểu",
]
MENTEE_HEADERS = [
    "Họ và tên",
    "Thôn",
    "Hộ",
    "Đại sứ số",
    "Từ ngày",
    "Lần gặp gần nhất",
    "Số ngày quá hạn",
    "Buổi gặp đã xác nhận",
]
MEETING_HEADERS = [
    "Ngày giờ",
    "Đại sứ số",
    "Địa điểm",
    "Số phút",
    "Đã gặp",
    "Người có mặt",
    "Số người xác nhận",
]
WHOLE_COMMUNE = "Toàn xã"


def _confirmations_by_mentee(active: list[Mentorship]) -> dict[int, int]:
    """Meetings each mentee confirmed with their current mentor (one query)."""
    ids = [m.person_id for m in active]
    if not ids:
        return {}
    rows = db.session.execute(
        select(MeetingConfirmation.person_id, Meeting.mentor_id, func.count())
        .join(Meeting, Meeting.id == MeetingConfirmation.meeting_id)
        .where(MeetingConfirmation.person_id.in_(ids))
        .group_by(MeetingConfirmation.person_id, Meeting.mentor_id)
    )
    mentor_of = {m.person_id: m.mentor_id for m in active}
    return {p: n for p, mentor_id, n in rows if mentor_of.get(p) == mentor_id}


def month_meetings(user: User, *, now: datetime) -> list[tuple[Meeting, list[str], int]]:
    """This month's meetings of the scope's mentors, latest first, each with the mentees of
    the scope who were there (names) and how many confirmed it (three queries)."""
    start, end = month_of(now)
    found = list(
        db.session.scalars(
            select(Meeting)
            .where(
                Meeting.mentor_id.in_(_scoped_mentor_ids(user)),
                Meeting.starts_at >= start,
                Meeting.starts_at < end,
            )
            .options(selectinload(Meeting.mentor).selectinload(Mentor.person))
            .order_by(Meeting.starts_at.desc(), Meeting.id)
        )
    )
    ids = [m.id for m in found]
    present: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        stmt = people_queries.scope_people(
            select(Attendance.occasion_id, Person.full_name).join(
                Person, Person.id == Attendance.person_id
            ),
            user,
        ).where(
            Attendance.occasion_kind == OccasionKind.MEETING,
            Attendance.occasion_id.in_(ids),
            Attendance.status.in_(ATTENDED),
        )
        for meeting_id, name in db.session.execute(stmt.order_by(Person.sort_key)):
            present[meeting_id].append(name)
    confirmed = meetings.confirmed_ids(ids)
    return [(m, present[m.id], len(confirmed[m.id])) for m in found]


def _table(book, title: str, headers: list[str], rows) -> None:
    sheet = book.create_sheet(title)
    header_row = append(sheet, headers)
    for row in rows:
        append(sheet, row)
    format_table(sheet, header_row=header_row)


def workbook(user: User, *, now: datetime) -> bytes:
    """The overview as an Excel workbook: the mentors ("Đại sứ số"), the mentees ("Người được
    hướng dẫn") and this month's meetings ("Buổi gặp"), with the overview's numbers."""
    network = overview(user, now=now)
    book = openpyxl.Workbook()
    book.remove(book.active)
    _table(
        book,
        "Đại sứ số",
        MENTOR_HEADERS,
        (
            [
                r.mentor.person.full_name,
                str(ORGANISATION_LABELS[r.mentor.organisation]),
                r.mentor.village.name if r.mentor.village else WHOLE_COMMUNE,
                r.mentees,
                r.meetings,
                Styled(r.hours, HOURS),
                r.overdue,
                "Có" if r.under_minimum else "",
            ]
            for r in network.rows
        ),
    )
    confirmed = _confirmations_by_mentee([s.mentorship for s in network.statuses])
    _table(book, "Người được hướng dẫn", MENTEE_HEADERS, _mentee_rows(network, confirmed))
    _table(
        book,
        "Buổi gặp",
        MEETING_HEADERS,
        (
            [
                Styled(m.starts_at, DATETIME),
                m.mentor.person.full_name,
                str(MEETING_PLACE_LABELS.get(m.place, m.place)),
                m.minutes,
                "Có" if m.held else "Không gặp được",
                ", ".join(present),
                count,
            ]
            for m, present, count in month_meetings(user, now=now)
        ),
    )
    return to_bytes(book)


def _mentee_rows(network: Overview, confirmed: dict[int, int]):
    statuses = sorted(
        network.statuses, key=lambda s: (s.mentorship.person.sort_key, s.mentorship.id)
    )
    for status in statuses:
        mentorship, person = status.mentorship, status.mentorship.person
        yield [
            person.full_name,
            person.village.name if person.village else "",
            person.household.code if person.household else "",
            mentorship.mentor.person.full_name,
            Styled(to_local(mentorship.started_at).date(), DATE),
            Styled(status.last_contact, DATETIME) if status.last_contact else None,
            status.days_overdue,
            confirmed.get(person.id, 0),
        ]
