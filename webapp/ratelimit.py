"""Rate limiting kept in the database, so every app process and host shares the counts.

A fixed-window counter per (bucket, key): one upsert per counted event (several events of a
request in one statement with :func:`hit_many`).
"""

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, Select, String, TextClause, bindparam, delete, func, select, text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db


class Throttle(db.Model):
    __tablename__ = "throttles"
    #: On SQLite the primary key is the table (no hidden row id and second B-tree): a count
    #: writes one page, not two.
    __table_args__ = {"sqlite_with_rowid": False}

    bucket: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    #: Start of the counting window, in whole seconds since the epoch.
    window_start: Mapped[int] = mapped_column(Integer, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)


def _window(now: datetime, seconds: int) -> int:
    epoch = int(now.timestamp())
    return epoch - epoch % seconds


#: The upserts of one to a few events, by number of events. The SQL is the same on SQLite and
#: PostgreSQL, and being text it is built once (the dialects' ``insert().on_conflict_do_update()``
#: is compiled again on every call). Rows go in the order given, so concurrent requests lock
#: them in the same order.
_HITS: dict[int, TextClause] = {}
_COUNTS: dict[int, TextClause] = {}


def _hits_statement(n: int) -> TextClause:
    stmt = _HITS.get(n)
    if stmt is None:
        rows = ", ".join(f"(:b{i}, :k{i}, :w, 1)" for i in range(n))
        stmt = _HITS[n] = text(
            f'INSERT INTO throttles (bucket, "key", window_start, hits) VALUES {rows}'
            ' ON CONFLICT (bucket, "key", window_start) DO UPDATE SET hits = throttles.hits + 1'
            ' RETURNING bucket, "key", hits'
        )
    return stmt


def _counts_statement(n: int) -> TextClause:
    stmt = _COUNTS.get(n)
    if stmt is None:
        pairs = " OR ".join(f'(bucket = :b{i} AND "key" = :k{i})' for i in range(n))
        stmt = _COUNTS[n] = text(
            f'SELECT bucket, "key", hits FROM throttles WHERE window_start = :w AND ({pairs})'
        )
    return stmt


def _params(events, now: datetime, window_seconds: int) -> dict:
    params = {"w": _window(now, window_seconds)}
    for i, (bucket, key) in enumerate(events):
        params[f"b{i}"], params[f"k{i}"] = bucket, key[:200]
    return params


def _connection():
    """The session's connection: text statements run on it directly (the ORM session's own
    execute adds work these need not), in the session's transaction. Pending ORM changes are
    flushed first, as the session's execute would."""
    db.session.flush()
    return db.session.connection()


def hit_many(events: list[tuple[str, str]], *, now: datetime, window_seconds: int) -> list[int]:
    """Count one event for each distinct (bucket, key) pair, in one statement; the counts in
    the current window, in the order given."""
    rows = _connection().execute(_hits_statement(len(events)), _params(events, now, window_seconds))
    got = {(bucket, key): hits for bucket, key, hits in rows}
    return [got[bucket, key[:200]] for bucket, key in events]


def count_many(events: list[tuple[str, str]], *, now: datetime, window_seconds: int) -> list[int]:
    """Events counted for each (bucket, key) pair in the current window, in one query."""
    rows = _connection().execute(
        _counts_statement(len(events)), _params(events, now, window_seconds)
    )
    got = {(bucket, key): hits for bucket, key, hits in rows}
    return [got.get((bucket, key[:200]), 0) for bucket, key in events]


@dataclass(frozen=True)
class Guard:
    """Counts to check before a query answers (e.g. wrong guesses lately): ``check`` gets the
    counts of ``events``, in order, and raises when they are over the limits. A query that
    takes a guard reads the counts with its own rows (see :func:`counts_row`)."""

    events: list[tuple[str, str]]
    now: datetime
    window_seconds: int
    check: Callable[[list[int]], None]

    def check_now(self) -> None:
        """Read the counts on their own and check them."""
        self.check(count_many(self.events, now=self.now, window_seconds=self.window_seconds))

    def params(self) -> dict:
        return counts_row_params(self.events, now=self.now, window_seconds=self.window_seconds)


#: One-row selects of the counts of one to a few events (see :func:`counts_row`).
_ROWS: dict[int, Select] = {}


def counts_row(n: int) -> Select:
    """A one-row select of the counts (0 when none) of ``n`` events in columns ``c0``...,
    with parameters named by :func:`counts_row_params`: for joining to another query, so a
    guard's counts come back with that query's rows in one round trip."""
    stmt = _ROWS.get(n)
    if stmt is None:
        t = Throttle.__table__
        columns = [
            func.coalesce(
                select(t.c.hits)
                .where(
                    t.c.bucket == bindparam(f"gb{i}"),
                    t.c.key == bindparam(f"gk{i}"),
                    t.c.window_start == bindparam("gw"),
                )
                .scalar_subquery(),
                0,
            ).label(f"c{i}")
            for i in range(n)
        ]
        stmt = _ROWS[n] = select(*columns)
    return stmt


def counts_row_params(events: list[tuple[str, str]], *, now: datetime, window_seconds: int) -> dict:
    """The parameters of :func:`counts_row` for ``events``."""
    return {"g" + name: value for name, value in _params(events, now, window_seconds).items()}


def hit(bucket: str, key: str, *, now: datetime, window_seconds: int) -> int:
    """Count one event for ``key`` and return the count in the current window."""
    return hit_many([(bucket, key)], now=now, window_seconds=window_seconds)[0]


def count(bucket: str, key: str, *, now: datetime, window_seconds: int) -> int:
    """Events counted for ``key`` in the current window."""
    return count_many([(bucket, key)], now=now, window_seconds=window_seconds)[0]


def reset(bucket: str, key: str) -> None:
    """Forget every count for ``key`` (e.g. after a successful log-in)."""
    db.session.execute(delete(Throttle).where(Throttle.bucket == bucket, Throttle.key == key[:200]))


def prune(*, now: datetime, older_than_seconds: int = 86_400) -> None:
    """Delete windows that ended long ago."""
    cutoff = int(now.timestamp()) - older_than_seconds
    db.session.execute(delete(Throttle).where(Throttle.window_start < cutoff))


# --- addresses and backoff -------------------------------------------------------------------


def address_key(address: str | None) -> str:
    """The key of a client address: IPv6 clients by their /64 (one home or phone has all of
    it, so counting single addresses would let one client take 2**64 of them)."""
    address = address or "unknown"
    if ":" in address:
        try:
            return str(ipaddress.ip_network(f"{address}/64", strict=False))
        except ValueError:
            pass
    return address


class Backoff(db.Model):
    """A streak of failures for one (bucket, key): the longer it is, the longer the wait
    after the last one (see :class:`BackoffPolicy`)."""

    __tablename__ = "backoffs"

    bucket: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    #: Time of the last failure, in whole seconds since the epoch.
    last_failure: Mapped[int] = mapped_column(Integer)


@dataclass(frozen=True)
class BackoffPolicy:
    """``free`` failures cost nothing; the ``free``-th and each later one make the next try
    wait ``base_seconds``, doubling, at most ``max_seconds``. A streak quiet for
    ``forget_after_seconds`` starts again from nothing."""

    free: int
    base_seconds: int
    max_seconds: int
    forget_after_seconds: int

    def delay(self, failures: int) -> int:
        """Seconds to wait after the last of ``failures`` failures."""
        if failures < self.free:
            return 0
        return min(self.max_seconds, self.base_seconds * 2 ** min(failures - self.free, 30))

    def wait(self, failures: int, last_failure: int, now: datetime) -> int:
        """Seconds still to wait at ``now`` (0: may try)."""
        epoch = int(now.timestamp())
        if epoch - last_failure >= self.forget_after_seconds:
            return 0
        return max(0, last_failure + self.delay(failures) - epoch)


_BACKOFF_FAIL = text(
    'INSERT INTO backoffs (bucket, "key", failures, last_failure) VALUES (:b, :k, 1, :now)'
    ' ON CONFLICT (bucket, "key") DO UPDATE SET'
    " failures = CASE WHEN backoffs.last_failure <= :forget THEN 1"
    " ELSE backoffs.failures + 1 END, last_failure = :now"
    " RETURNING failures"
)


def backoff_wait(bucket: str, key: str, policy: BackoffPolicy, *, now: datetime) -> int:
    """Seconds ``key`` must still wait before its next try (0: it may try now)."""
    stmt = select(Backoff.failures, Backoff.last_failure).where(
        Backoff.bucket == bucket, Backoff.key == key[:200]
    )
    row = _connection().execute(stmt).first()
    return policy.wait(row.failures, row.last_failure, now) if row else 0


def backoff_fail(bucket: str, key: str, policy: BackoffPolicy, *, now: datetime) -> int:
    """Add a failure to ``key``'s streak (one upsert); the seconds it must now wait."""
    epoch = int(now.timestamp())
    forget = epoch - policy.forget_after_seconds
    params = {"b": bucket, "k": key[:200], "now": epoch, "forget": forget}
    failures = _connection().execute(_BACKOFF_FAIL, params).scalar_one()
    return policy.delay(failures)


def backoff_clear(bucket: str, key: str, *, prefix: bool = False) -> None:
    """End ``key``'s streak (or, with ``prefix``, every streak whose key starts with it)."""
    match = Backoff.key.startswith(key, autoescape=True) if prefix else Backoff.key == key[:200]
    db.session.execute(delete(Backoff).where(Backoff.bucket == bucket, match))


def backoff_prune(*, now: datetime, older_than_seconds: int = 86_400) -> None:
    """Delete streaks whose last failure is long past."""
    cutoff = int(now.timestamp()) - older_than_seconds
    db.session.execute(delete(Backoff).where(Backoff.last_failure < cutoff))
