"""Session series: "Tuesdays and Thursdays 08:00–10:00 for 4 weeks, skipping 02/09".

Local times are Vietnam time (Asia/Ho_Chi_Minh, no daylight saving); sessions are stored in
UTC. Recurrence comes from dateutil's RFC 5545 rules.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from dateutil.rrule import WEEKLY, rrule, rruleset
from flask_babel import lazy_gettext as _l

from webapp.errors import DomainError
from webapp.timeutil import LOCAL_TZ

MAX_SESSIONS = 100

WEEKDAY_LABELS = {
    0: _l("Monday"),
    1: _l("Tuesday"),
    2: _l("Wednesday"),
    3: _l("Thursday"),
    4: _l("Friday"),
    5: _l("Saturday"),
    6: _l("Sunday"),
}


@dataclass
class SeriesRule:
    """A weekly rule in local time. Give ``weeks`` or ``until`` (inclusive)."""

    first_day: date
    weekdays: list[int]  # 0 = Monday … 6 = Sunday
    start: time
    end: time
    weeks: int | None = None
    until: date | None = None
    skip: list[date] = field(default_factory=list)


@dataclass
class PlannedSession:
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC

    @property
    def local_day(self) -> date:
        return self.starts_at.astimezone(LOCAL_TZ).date()


def local_to_utc(day: date, at: time) -> datetime:
    """A Vietnam wall-clock time on ``day`` as an aware UTC datetime."""
    return datetime.combine(day, at, tzinfo=LOCAL_TZ).astimezone(UTC)


def check_times(start: time, end: time) -> None:
    """Refuse a session that ends before it starts (sessions never cross midnight)."""
    if end <= start:
        raise DomainError("time_order", _l("The end time must be after the start time."))


def expand(rule: SeriesRule) -> list[PlannedSession]:
    """Every session of the rule, in order, without the skipped days."""
    check_times(rule.start, rule.end)
    if not rule.weekdays or any(d not in WEEKDAY_LABELS for d in rule.weekdays):
        raise DomainError("series_no_weekday", _l("Choose at least one day of the week."))
    if rule.until is None and not rule.weeks:
        raise DomainError("series_no_end", _l("Say for how many weeks, or until which day."))
    if rule.until is not None and rule.weeks:
        raise DomainError(
            "series_two_ends", _l("Give either the number of weeks or the last day, not both.")
        )
    if _last_day(rule) < rule.first_day:
        raise DomainError("series_end_before_start", _l("The last day is before the first day."))
    days = rruleset()
    days.rrule(_weekly(rule))
    for skipped in rule.skip:
        days.exdate(datetime.combine(skipped, time()))
    planned = []
    for moment in days:
        if len(planned) == MAX_SESSIONS:
            raise DomainError(
                "series_too_long", _l("A series has at most %(n)d sessions."), n=MAX_SESSIONS
            )
        day = moment.date()
        planned.append(PlannedSession(local_to_utc(day, rule.start), local_to_utc(day, rule.end)))
    if not planned:
        raise DomainError("series_empty", _l("These rules give no session at all."))
    return planned


def _last_day(rule: SeriesRule) -> date:
    return rule.until or (rule.first_day + timedelta(weeks=rule.weeks) - timedelta(days=1))


def _weekly(rule: SeriesRule) -> rrule:
    """The rule's days before any is skipped (local midnights)."""
    return rrule(
        WEEKLY,
        dtstart=datetime.combine(rule.first_day, time()),
        until=datetime.combine(_last_day(rule), time()),
        byweekday=sorted(set(rule.weekdays)),
    )


def skipped_days(rule: SeriesRule) -> tuple[list[date], list[date]]:
    """The days to skip that were session days of the rule (left out), and those that were not
    (nothing to leave out: another weekday, or outside the series), each in order. Call after
    :func:`expand` has accepted the rule."""
    session_days = {moment.date() for moment in _weekly(rule)}
    wanted = sorted(set(rule.skip))
    return [d for d in wanted if d in session_days], [d for d in wanted if d not in session_days]


def parse_skip(text: str, first_day: date) -> list[date]:
    """Days to skip, written "02/09, 15/09/2026" (commas, semicolons or spaces between them).

    A day without a year is the next such day on or after ``first_day``.
    """
    days = []
    for item in text.replace(";", ",").replace(" ", ",").split(","):
        if not item:
            continue
        parts = item.replace("-", "/").replace(".", "/").split("/")
        try:
            if len(parts) == 2:
                day = date(first_day.year, int(parts[1]), int(parts[0]))
                if day < first_day:
                    day = date(first_day.year + 1, day.month, day.day)
            elif len(parts) == 3 and len(parts[2]) == 4:
                day = date(int(parts[2]), int(parts[1]), int(parts[0]))
            else:
                raise ValueError(item)
        except ValueError:
            raise DomainError(
                "series_skip_invalid",
                _l("%(text)s is not a day: write days to skip as dd/mm or dd/mm/yyyy."),
                text=item,
            ) from None
        days.append(day)
    return days
