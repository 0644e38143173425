"""iCalendar (RFC 5545) feeds of sessions, in Vietnam time with its VTIMEZONE."""

from datetime import datetime

from icalendar import Calendar, Event

from webapp.scheduling.models import ClassSession
from webapp.timeutil import LOCAL_TZ


def feed(name: str, sessions: list[ClassSession], *, host: str, now: datetime) -> bytes:
    """A calendar named ``name`` holding one event per session (cancelled ones marked)."""
    calendar = Calendar()
    calendar.add("prodid", "-//Lop So//Binh dan hoc vu so//VI")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Asia/Ho_Chi_Minh")
    for session in sessions:
        calendar.add_component(_event(session, host=host, now=now))
    calendar.add_missing_timezones()
    return calendar.to_ical()


def _event(session: ClassSession, *, host: str, now: datetime) -> Event:
    course_class = session.course_class
    event = Event()
    event.add("uid", f"session-{session.id}@{host}")
    event.add("dtstamp", now)
    event.add("dtstart", session.starts_at.astimezone(LOCAL_TZ))
    event.add("dtend", session.ends_at.astimezone(LOCAL_TZ))
    summary = course_class.name + (f" — {session.topic}" if session.topic else "")
    event.add("summary", summary)
    if session.venue:
        event.add("location", ", ".join(p for p in (session.venue.name, session.venue.address) if p))
    event.add("status", "CANCELLED" if session.is_cancelled else "CONFIRMED")
    if session.is_cancelled and session.cancel_reason:
        event.add("description", session.cancel_reason)
    return event
