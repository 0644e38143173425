"""Rate limiting kept in the database, so every app process and host shares the counts.

A fixed-window counter per (bucket, key): one upsert per counted event.
"""

from datetime import datetime

from sqlalchemy import Integer, String, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db


class Throttle(db.Model):
    __tablename__ = "throttles"

    bucket: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    #: Start of the counting window, in whole seconds since the epoch.
    window_start: Mapped[int] = mapped_column(Integer, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)


def _window(now: datetime, seconds: int) -> int:
    epoch = int(now.timestamp())
    return epoch - epoch % seconds


def hit(bucket: str, key: str, *, now: datetime, window_seconds: int) -> int:
    """Count one event for ``key`` and return the count in the current window."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Throttle).values(
        bucket=bucket, key=key[:200], window_start=_window(now, window_seconds), hits=1
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["bucket", "key", "window_start"], set_={"hits": Throttle.hits + 1}
    ).returning(Throttle.hits)
    return db.session.execute(stmt).scalar_one()


def count(bucket: str, key: str, *, now: datetime, window_seconds: int) -> int:
    """Events counted for ``key`` in the current window."""
    stmt = select(Throttle.hits).where(
        Throttle.bucket == bucket,
        Throttle.key == key[:200],
        Throttle.window_start == _window(now, window_seconds),
    )
    return db.session.execute(stmt).scalar() or 0


def reset(bucket: str, key: str) -> None:
    """Forget every count for ``key`` (e.g. after a successful log-in)."""
    db.session.execute(delete(Throttle).where(Throttle.bucket == bucket, Throttle.key == key[:200]))


def prune(*, now: datetime, older_than_seconds: int = 86_400) -> None:
    """Delete windows that ended long ago."""
    cutoff = int(now.timestamp()) - older_than_seconds
    db.session.execute(delete(Throttle).where(Throttle.window_start < cutoff))
