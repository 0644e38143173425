"""Time: stored in UTC, shown in Asia/Ho_Chi_Minh as dd/mm/yyyy."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (views pass it to services as ``now``)."""
    return datetime.now(UTC)


def to_local(value: datetime) -> datetime:
    """Convert an aware (or naive-UTC) datetime to Vietnam local time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(LOCAL_TZ)


def format_date(value: date | datetime | None) -> str:
    """dd/mm/yyyy, in local time for datetimes; empty for None."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value)
    return value.strftime("%d/%m/%Y")


def format_datetime(value: datetime | None) -> str:
    """dd/mm/yyyy HH:MM in local time; empty for None."""
    if value is None:
        return ""
    return to_local(value).strftime("%d/%m/%Y %H:%M")


def parse_date(text: str) -> date:
    """Parse dd/mm/yyyy (also d/m/yyyy, dd-mm-yyyy and ISO yyyy-mm-dd); ValueError if impossible."""
    text = text.strip()
    for fmt in ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and always loaded as an aware UTC datetime.

    SQLite has no time zones and returns naive values; PostgreSQL uses timestamptz.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
