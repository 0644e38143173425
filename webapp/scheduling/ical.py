"""iCalendar (RFC 5545) feeds of sessions, in Vietnam time with its VTIMEZONE."""

from collections.abc import Callable
from datetime import UTC, datetime

from icalendar import Calendar, Event, Timezone, TimezoneStandard

from webapp.scheduling.models import ClassSession, ClassStatus
from webapp.timeutil import LOCAL_TZ

TZID = "Asia/Ho_Chi_Minh"
CONTENT_TYPE = "text/calendar; charset=utf-8"


def feed(
    name: str,
    sessions: list[ClassSession],
    *,
    host: str,
    now: datetime,
    show_reasons: bool = True,
    link: Callable[[ClassSession], str] | None = None,
) -> bytes:
    """A calendar named ``name`` holding one event per session (cancelled ones marked).

    ``show_reasons=False`` leaves cancellation reasons out (public feeds: a reason may name
    somebody); ``link`` gives each event a URL.
    """
    calendar = Calendar()
    calendar.add("prodid", "-//Lop So//Binh dan hoc vu so//VI")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", str(name))
    calendar.add("x-wr-timezone", TZID)
    calendar.add_component(vietnam_timezone())
    for session in sessions:
        calendar.add_component(
            _event(session, host=host, now=now, show_reasons=show_reasons, link=link)
        )
    return calendar.to_ical()


def vietnam_timezone() -> Timezone:
    """VTIMEZONE of Asia/Ho_Chi_Minh: UTC+07:00 all year, no daylight saving (since 1975,
    earlier than any session). Written out rather than generated from tzdata, whose
    generated form carries the pre-1975 +08:00 offset and stops at 2038."""
    standard = TimezoneStandard()
    standard.add("dtstart", datetime(1975, 6, 13))
    standard.add("tzoffsetfrom", LOCAL_TZ.utcoffset(datetime(2025, 1, 1)))
    standard.add("tzoffsetto", LOCAL_TZ.utcoffset(datetime(2025, 1, 1)))
    standard.add("tzname", "+07")
    timezone = Timezone()
    timezone.add("tzid", TZID)
    timezone.add_component(standard)
    return timezone


def is_off(session: ClassSession) -> bool:
    """True when the session will not take place: cancelled itself, or its class was."""
    return session.is_cancelled or session.course_class.status == ClassStatus.CANCELLED


def _event(
    session: ClassSession,
    *,
    host: str,
    now: datetime,
    show_reasons: bool,
    link: Callable[[ClassSession], str] | None,
) -> Event:
    course_class = session.course_class
    event = Event()
    event.add("uid", f"session-{session.id}@{host}")
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", session.starts_at.astimezone(LOCAL_TZ), parameters={"TZID": TZID})
    event.add("dtend", session.ends_at.astimezone(LOCAL_TZ), parameters={"TZID": TZID})
    summary = course_class.name + (f" — {session.topic}" if session.topic else "")
    event.add("summary", summary)
    if session.venue:
        venue = session.venue
        event.add("location", ", ".join(p for p in (venue.name, venue.address) if p))
    off = is_off(session)
    event.add("status", "CANCELLED" if off else "CONFIRMED")
    if off:
        event.add("sequence", 1)  # a later version of the event: calendars show the change
    if off and show_reasons and session.cancel_reason:
        event.add("description", session.cancel_reason)
    if link is not None:
        event.add("url", link(session))
    return event
