"""The demo's mentoring network: the five demo mentors (log-ins ``dss.*``) registered as people
and guiding 7, 6, 5, 4 and 3 people (so two are under the minimum of five), a few weeks of
meetings, one mentee nobody has met (overdue), one visit where nobody was home, one meeting
confirmed on the mentee's phone and a few "can do" attestations."""

from datetime import datetime, timedelta

from sqlalchemy import select

from webapp.accounts.models import User
from webapp.checkin.models import Device
from webapp.extensions import db
from webapp.learning import framework
from webapp.mentoring import meetings, services
from webapp.mentoring.models import MeetingPlace, Organisation
from webapp.people.models import Commune, Person, TargetGroup, Village
from webapp.people.services import PersonInput, create_person

#: (log-in, organisation, village position (None: the whole commune), counter helper,
#: mentees, year of birth).
DEMO_MENTORS = [
    ("dss.an", Organisation.YOUTH_UNION, 0, False, 7, 2001),
    ("dss.binh", Organisation.SCHOOL, 1, False, 6, 2006),
    ("dss.cuong", Organisation.COMMUNITY_DIGITAL_TEAM, 2, False, 5, 1995),
    ("dss.dung", Organisation.PUBLIC_SERVICE_CENTRE, None, True, 4, 1992),
    ("dss.em", Organisation.YOUTH_UNION, 6, False, 3, 2003),
]
#: The network started five weeks ago; households are visited every ten days.
WEEKS = 5
EVERY_DAYS = 10
DEMO_PHONE = "demo-phone-mentee"


def seed_mentoring(commune: Commune, *, now: datetime) -> dict[str, int]:
    organiser = db.session.scalar(select(User).where(User.username == "canbo.vhxh"))
    villages = list(
        db.session.scalars(
            select(Village).where(Village.commune_id == commune.id).order_by(Village.position)
        )
    )
    start = now - timedelta(weeks=WEEKS)
    counts = {"mentors": 0, "mentees": 0, "meetings": 0}
    for n, (username, organisation, position, counter, wanted, year) in enumerate(DEMO_MENTORS):
        user = db.session.scalar(select(User).where(User.username == username))
        lives_in = villages[position if position is not None else 6]
        person = create_person(
            actor=organiser,
            now=start,
            data=PersonInput(user.full_name, year, lives_in.id, TargetGroup.CITIZEN),
            allow_duplicate=True,
        )
        mentor = services.make_mentor(
            actor=organiser,
            now=start,
            person=person,
            organisation=organisation,
            village_id=lives_in.id if position is not None else None,
            counter_helper=counter,
        )
        services.link_account(actor=organiser, now=start, mentor=mentor, user=user)
        mentees = _assign(organiser, mentor, wanted, start)
        counts["mentors"] += 1
        counts["mentees"] += len(mentees)
        counts["meetings"] += _meet(user, mentor, mentees, start, now, first_mentor=n == 0)
    return counts


def _assign(organiser: User, mentor, wanted: int, start: datetime) -> list[Person]:
    """The mentor's first ``wanted`` suggestions (priority people first, whole households)."""
    mentees: list[Person] = []
    for suggestion in services.suggestions(mentor, now=start, limit=wanted):
        for person in suggestion.people:
            if len(mentees) < wanted:
                services.assign(actor=organiser, now=start, mentor=mentor, person=person)
                mentees.append(person)
    return mentees


def _meet(user: User, mentor, mentees: list[Person], start, now, *, first_mentor: bool) -> int:
    """Visits every ten days, by household; the first mentor's last mentee is never met
    (overdue), and their latest meeting is confirmed on a mentee's phone."""
    households: dict[object, list[Person]] = {}
    never_met = mentees[-1] if first_mentor and len(mentees) > 1 else None
    for person in mentees:
        if person is not never_met:
            households.setdefault(person.household_id or person.id, []).append(person)
    codes = list(framework.competency_names(framework.current_version()))[:3]
    count, latest = 0, None
    for h, people in enumerate(households.values()):
        day = start + timedelta(days=2 + h)
        visit = 0
        while day < now - timedelta(hours=2):
            held = not (h == 0 and visit == 1)  # one visit: nobody home
            at = day.replace(hour=2, minute=0, second=0, microsecond=0)  # 09:00 in Vietnam
            meeting = meetings.log_meeting(
                actor=user,
                now=at + timedelta(hours=1),
                mentor=mentor,
                details=meetings.MeetingDetails(
                    people=people,
                    minutes=60,
                    place=MeetingPlace.HOME if visit % 3 else MeetingPlace.CULTURAL_HOUSE,
                    held=held,
                    starts_at=at,
                    practised=codes[: visit % 3 + 1] if held else [],
                    attested={(people[0].id, codes[0])} if held and visit == 2 else (),
                ),
            )
            if held and (latest is None or meeting.starts_at > latest[0].starts_at):
                latest = (meeting, people[0])
            count += 1
            visit += 1
            day += timedelta(days=EVERY_DAYS)
    if first_mentor and latest is not None:
        _confirm_on_phone(*latest, now=now)
    return count


def _confirm_on_phone(meeting, person: Person, *, now: datetime) -> None:
    db.session.add(Device(key=DEMO_PHONE, person_id=person.id, created_at=now, last_used_at=now))
    db.session.flush()
    meetings.confirm(
        now=meeting.ends_at, meeting_id=meeting.id, person_id=person.id, device_key=DEMO_PHONE
    )
