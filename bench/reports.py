"""Benchmark: the reports dashboard (/reports) on a commune's and on a province's records.

Its own data generator writes straight with SQL (INSERT … SELECT over a series: a recursive
CTE on SQLite, ``generate_series`` on PostgreSQL) after the real migrations, the draft
framework and the plan's indicators:

- ``commune``: 1 commune (10 villages), 30,000 persons, 9,000 households, 3,000 sessions,
  300,000 attendance rows, 20,000 evidence rows, 3,000 certificates, 300 mentors, on SQLite
  (a file in a temporary directory), read by the commune's organiser (by village);
- ``province``: 100 communes, 1,000,000 persons, 300,000 households, 100,000 sessions,
  10,000,000 attendance rows, 666,600 evidence rows, 100,000 certificates, 10,000 mentors, on
  PostgreSQL (a scratch database created and dropped on the server of ``--postgresql``),
  read by a province-wide admin (communes side by side).

``--scale-factor`` shrinks both (0.01 for a smoke test). In the same run, through the Flask
test client (server time, no network): the dashboard cold (the first request of a new app
after generating: statements not yet compiled, templates not loaded; the database's pages
are in the OS cache all the same) and warm (median of ``--repeat``); the Excel export when
``/reports/export.xlsx`` exists (null otherwise); the refresh: figures are computed live, so
"bringing them up to date" after 1,000 new check-ins is the next dashboard request after
inserting 1,000 attendance rows (its time is ``refresh_ms``); and the single heaviest SQL
statement of one warm dashboard request (timed at the cursor), with its plan (EXPLAIN
ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on SQLite). Targets are printed beside the
figures, never asserted. The last line is JSON keyed by scale.

    .venv/bin/python bench/reports.py                        # both scales (PostgreSQL if up)
    .venv/bin/python bench/reports.py --scale-factor 0.01 --scales commune
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, event, insert, make_url, text
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webapp import create_app  # noqa: E402
from webapp.config import database_url  # noqa: E402
from webapp.extensions import db  # noqa: E402

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/"
DASHBOARD = "/reports"
EXPORT = "/reports/export.xlsx"
#: The dashboard's lazy panels (loaded by htmx after the page, or followed as links).
PANELS = ("trend", "activity", "learners")
VILLAGES = 10  # per commune
CHECKINS = 1_000
#: Targets of issue 16 (printed beside the figures, not asserted).
TARGETS = {"commune": 150.0, "province": 1000.0, "refresh": 1000.0}
GROUPS = "CASE WHEN k % 20 < 14 THEN 'citizen' WHEN k % 20 < 17 THEN 'student' " + (
    "WHEN k % 20 < 19 THEN 'enterprise_worker' ELSE 'public_sector' END"
)


@dataclass(frozen=True)
class Shape:
    """How many of each record a scale generates (per commune unless said)."""

    communes: int
    persons: int
    households: int
    sessions: int  # a multiple of 10: each person attends 10 distinct sessions

    @classmethod
    def of(cls, scale: str, factor: float) -> "Shape":
        if scale == "commune":
            communes, total = 1, 30_000 * factor
        else:
            communes = max(2, min(100, round(100 * factor**0.5)))
            total = 1_000_000 * factor
        persons = max(100, round(total / communes / 100) * 100)
        return cls(communes, persons, persons * 3 // 10, max(10, persons // 100 * 10))

    @property
    def attendance(self) -> int:  # per commune
        return 10 * self.persons

    @property
    def evidence(self) -> int:
        return self.persons * 2 // 3

    @property
    def certificates(self) -> int:
        return self.persons // 10

    @property
    def mentors(self) -> int:
        return max(1, self.persons // 100)


# --- SQL that differs between the two databases ------------------------------------------------


class Dialect:
    def __init__(self, name: str):
        self.pg = name == "postgresql"

    def ts(self, days: str, minutes: str = "0") -> str:
        """A UTC timestamp ``days`` days and ``minutes`` minutes after 6 January 2025, as the
        app stores it (naive ISO text with microseconds on SQLite, timestamptz on PG)."""
        if self.pg:
            return (
                f"(TIMESTAMPTZ '2025-01-06 00:00:00+00' + ({days}) * INTERVAL '1 day'"
                f" + ({minutes}) * INTERVAL '1 minute')"
            )
        return (
            f"(strftime('%Y-%m-%d %H:%M:%S', '2025-01-06', '+' || ({days}) || ' days', "
            f"'+' || ({minutes}) || ' minutes') || '.000000')"
        )

    def day(self, days: str) -> str:
        if self.pg:
            return f"(DATE '2025-01-06' + ({days}))"
        return f"date('2025-01-06', '+' || ({days}) || ' days')"

    def json(self, literal: str) -> str:
        return f"CAST('{literal}' AS JSON)" if self.pg else f"'{literal}'"

    def blob(self, expr: str) -> str:
        return f"convert_to({expr}, 'UTF8')" if self.pg else f"CAST({expr} AS BLOB)"

    def insert(
        self, table: str, columns: dict[str, str], lo: int, hi: int, derived: str, where=""
    ) -> str:
        """INSERT INTO ``table`` one row per n in [lo, hi) (those ``where`` keeps), the values
        computed from the ``derived`` columns of the series (``SELECT n, … AS c, … AS k``)."""
        names = ", ".join(columns)
        values = ", ".join(columns.values())
        where = f" WHERE {where}" if where else ""
        if self.pg:
            source = f"generate_series({lo}, {hi - 1}) AS s(n)"
            return (
                f"INSERT INTO {table} ({names}) SELECT {values}"
                f" FROM (SELECT {derived} FROM {source}) AS g{where}"
            )
        series = f"s(n) AS (SELECT {lo} UNION ALL SELECT n + 1 FROM s WHERE n < {hi - 1})"
        return (
            f"WITH RECURSIVE {series} INSERT INTO {table} ({names}) "
            f"SELECT {values} FROM (SELECT {derived} FROM s) AS g{where}"
        )


# --- the generator -------------------------------------------------------------------------------


class Generator:
    """Writes a scale's records in big INSERT … SELECT statements, one commit per step, and
    stops adding attendance chunks once ``budget_s`` is spent (what it reached is counted)."""

    def __init__(self, engine, shape: Shape, budget_s: float):
        self.engine, self.shape, self.sql = engine, shape, Dialect(engine.dialect.name)
        self.stop_at = time.monotonic() + budget_s
        self.steps: list[tuple[str, float]] = []
        self.complete = True

    def run(self, step: str, statements: list[str]) -> None:
        start = time.perf_counter()
        with self.engine.begin() as conn:
            if self.sql.pg:
                conn.execute(text("SET LOCAL synchronous_commit = off"))
                # The generated records are built into spans in one go afterwards (build()),
                # not queued one by one by the triggers.
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            for statement in statements:
                conn.execute(text(statement))
        self.steps.append((step, time.perf_counter() - start))

    def per_commune(self, count: int, body: str) -> str:
        """The series' derived columns: c (commune index), j (index within the commune) and
        k (a person index within the commune, from ``body``)."""
        return f"n, n / {count} AS c, n % {count} AS j, {body} AS k"

    def all(self) -> None:
        s, sql = self.shape, self.sql
        C, P, H, S = s.communes, s.persons, s.households, s.sessions
        self.run(
            "communes, villages, course, classes",
            [
                sql.insert(
                    "communes",
                    {
                        "id": "n + 1",
                        "code": "'C' || CAST(n + 1 AS TEXT)",
                        "name": "'Xã ' || CAST(n + 1 AS TEXT)",
                        "province": "'Quảng Ngãi'",
                        "committee_name": "'UBND xã ' || CAST(n + 1 AS TEXT)",
                    },
                    0,
                    C,
                    "n",
                ),
                sql.insert(
                    "villages",
                    {
                        "id": "n + 1",
                        "commune_id": f"n / {VILLAGES} + 1",
                        "name": f"'Thôn ' || CAST(n % {VILLAGES} + 1 AS TEXT)",
                        "position": f"n % {VILLAGES} + 1",
                    },
                    0,
                    C * VILLAGES,
                    "n",
                ),
                *self.users(),
                sql.insert(
                    "courses",
                    {
                        "id": "n + 1",
                        "commune_id": "n + 1",
                        "title": "'Kỹ năng số cơ bản'",
                        "summary": "''",
                        "target_groups": sql.json('["citizen"]'),
                        "segments": sql.json("[]"),
                        "disability_types": sql.json("[]"),
                        "competency_codes": sql.json("[]"),
                        "planned_hours": "20",
                        "planned_sessions": "10",
                        "created_by_id": "1",
                        "created_at": sql.ts("0"),
                    },
                    0,
                    C,
                    "n",
                ),
                sql.insert(
                    "classes",
                    {
                        "id": "n + 1",
                        "course_id": "c + 1",
                        "commune_id": "c + 1",
                        "village_id": f"c * {VILLAGES} + j % {VILLAGES} + 1",
                        "name": "'Lớp ' || CAST(n + 1 AS TEXT)",
                        "capacity": "30",
                        "assistants": "''",
                        "target_groups": sql.json('["citizen"]'),
                        "segments": sql.json("[]"),
                        "accommodations": sql.json("[]"),
                        "status": "'finished'",
                        "public_signup": "false",
                        "public_token": "'bench-class-' || CAST(n + 1 AS TEXT)",
                        "created_by_id": "1",
                        "created_at": sql.ts("0"),
                    },
                    0,
                    C * (S // 10),
                    self.per_commune(S // 10, "0"),
                ),
            ],
        )
        self.run(
            "households",
            [
                sql.insert(
                    "households",
                    {
                        "id": "n + 1",
                        "commune_id": "c + 1",
                        "village_id": f"c * {VILLAGES} + j % {VILLAGES} + 1",
                        "code": f"'T' || CAST(j % {VILLAGES} + 1 AS TEXT) || '-'"
                        " || CAST(j AS TEXT)",
                        "address": "''",
                        "is_poor": "j % 9 = 0",
                    },
                    0,
                    C * H,
                    self.per_commune(H, "0"),
                )
            ],
        )
        name = "'Nguyễn Văn ' || CAST(n + 1 AS TEXT)"
        self.run(
            "persons",
            [
                sql.insert(
                    "persons",
                    {
                        "id": "n + 1",
                        "commune_id": "c + 1",
                        "village_id": f"c * {VILLAGES} + (k % {H}) % {VILLAGES} + 1",
                        "household_id": f"CASE WHEN k % 20 = 13 THEN NULL"
                        f" ELSE c * {H} + k % {H} + 1 END",
                        "full_name": name,
                        "sort_key": sql.blob("'nguyen van ' || CAST(n + 1 AS TEXT)"),
                        "name_key": "'nguyen van ' || CAST(n + 1 AS TEXT)",
                        "search_text": "'nguyen van ' || CAST(n + 1 AS TEXT)",
                        "birth_year": "1940 + (k * 7) % 70",
                        "sex": "CASE WHEN k % 2 = 0 THEN 'female' ELSE 'male' END",
                        "phone": "NULL",
                        "target_group": GROUPS,
                        "disability": "CASE WHEN k % 40 = 7 THEN 'vision' END",
                        "trader_farmer": "k % 6 = 1",
                        "ethnic_minority": "k % 8 = 3",
                        "vneid_level2": "k % 3 <> 0",
                        "vneid_level2_on": f"CASE WHEN k % 3 <> 0 THEN {sql.day('k % 600')} END",
                        "digital_signature": "k % 4 = 0",
                        "digital_signature_on": f"CASE WHEN k % 4 = 0 THEN {sql.day('k % 600')}"
                        " END",
                        "consent_on": "NULL",
                        "note": "''",
                        "created_at": sql.ts("k % 300"),
                        "updated_at": sql.ts("k % 300"),
                        "learner_code": "NULL",
                    },
                    lo,
                    min(hi, C * P),
                    self.per_commune(P, "n % " + str(P)),
                )
                for lo, hi in chunks(C * P, 250_000)
            ],
        )
        self.run(
            "sessions",
            [
                sql.insert(
                    "class_sessions",
                    {
                        "id": "n + 1",
                        "class_id": "c * " + str(S // 10) + " + j % " + str(S // 10) + " + 1",
                        "venue_id": "NULL",
                        "starts_at": sql.ts("j % 600", "480"),
                        "ends_at": sql.ts("j % 600", "600"),
                        "topic": "'Buổi ' || CAST(j + 1 AS TEXT)",
                        "note": "''",
                        "cancelled_at": "NULL",
                        "cancel_reason": "''",
                        "clash_override_note": "''",
                        "created_at": sql.ts("0"),
                    },
                    0,
                    C * S,
                    self.per_commune(S, "0"),
                )
            ],
        )
        self.run("evidence", [self.evidence()])
        self.run("certificates", [self.certificates()])
        self.run("mentors, mentorships", self.mentors())
        self.attendance()

    def users(self) -> list[str]:
        """1: the province-wide admin; 2: the organiser of commune 1."""
        sql = self.sql
        return [
            "INSERT INTO users (id, username, full_name, password_hash, role, commune_id,"
            " province_wide, active, created_at, session_generation) VALUES"
            f" (1, 'province', 'Sở', 'x', 'admin', NULL, true, true, {sql.ts('0')}, 0),"
            f" (2, 'organiser', 'Cán bộ xã', 'x', 'organiser', 1, false, true, {sql.ts('0')}, 0)"
        ]

    def evidence(self) -> str:
        """Four rows for every sixth person (competency codes of the citizens' rule), one
        person in three of them also confirmed on VNeID; one row in 50 withdrawn."""
        s, sql = self.shape, self.sql
        codes = self.codes or ["1.1"]
        code = "CASE j % 4 " + " ".join(
            f"WHEN {i} THEN '{codes[i % len(codes)]}'" for i in range(4)
        )
        return sql.insert(
            "evidence",
            {
                "id": "n + 1",
                "person_id": f"c * {s.persons} + k + 1",
                "competency_code": f"CASE WHEN j % 12 = 0 THEN '*' ELSE {code} END END",
                "kind": "CASE WHEN j % 12 = 0 THEN 'vneid' ELSE 'checklist' END",
                "class_id": "NULL",
                "recorded_by_id": "1",
                "recorded_at": sql.ts("300 + j % 300"),
                "detail": sql.json("{}"),
                "withdrawn_at": f"CASE WHEN j % 50 = 1 THEN {sql.ts('620')} END",
                "withdrawn_reason": "''",
                "device_id": "NULL",
                "pending": "false",
            },
            0,
            s.communes * s.evidence,
            self.per_commune(s.evidence, f"(((n % {s.evidence}) / 4) * 6) % {s.persons}"),
        )

    def certificates(self) -> str:
        s, sql = self.shape, self.sql
        classes = s.sessions // 10
        return sql.insert(
            "certificates",
            {
                "id": "n + 1",
                "serial": "'QN-' || CAST(n + 1 AS TEXT)",
                "verify_code": "'v' || CAST(n + 1 AS TEXT)",
                "commune_id": "c + 1",
                "person_id": f"c * {s.persons} + k + 1",
                "class_id": f"c * {classes} + j % {classes} + 1",
                "framework_version_id": "NULL",
                "snapshot": sql.json("{}"),
                "issued_by_id": "1",
                "issued_at": sql.ts("400 + j % 200"),
                "revoked_at": f"CASE WHEN j % 25 = 0 THEN {sql.ts('610')} END",
                "revoke_reason": "''",
                "replaces_id": "NULL",
            },
            0,
            s.communes * s.certificates,
            self.per_commune(s.certificates, f"((n % {s.certificates}) * 7) % {s.persons}"),
        )

    def mentors(self) -> list[str]:
        """Mentors (every hundredth person); the even ones guide 5 mentees, the odd ones 3."""
        s, sql = self.shape, self.sql
        M = s.mentors
        return [
            sql.insert(
                "mentors",
                {
                    "id": "n + 1",
                    "person_id": f"c * {s.persons} + (j * 100 + 1) % {s.persons} + 1",
                    "commune_id": "c + 1",
                    "village_id": f"CASE WHEN j % 2 = 0 THEN c * {VILLAGES} + j % {VILLAGES} + 1"
                    " END",
                    "organisation": "'youth_union'",
                    "counter_helper": "false",
                    "user_id": "NULL",
                    "created_at": sql.ts("100"),
                    "created_by_id": "1",
                    "ended_at": "NULL",
                },
                0,
                s.communes * M,
                self.per_commune(M, "0"),
            ),
            sql.insert(
                "mentorships",
                {
                    "id": "n + 1",
                    "mentor_id": f"c * {M} + j / 5 + 1",
                    "person_id": f"c * {s.persons} + k + 1",
                    "commune_id": "c + 1",
                    "started_at": sql.ts("200"),
                    "started_by_id": "1",
                    "ended_at": "NULL",
                    "end_note": "''",
                },
                0,
                s.communes * M * 5,
                self.per_commune(5 * M, f"((n % {5 * M}) * 13 + 5) % {s.persons}"),
                "j % 5 < CASE WHEN (j / 5) % 2 = 0 THEN 5 ELSE 3 END",
            ),
        ]

    def attendance(self) -> None:
        """Ten distinct sessions per person (one person in five absent from all of them:
        never trained), in chunks of communes until the time budget is spent."""
        s, sql = self.shape, self.sql
        A, P, S = s.attendance, s.persons, s.sessions
        per_chunk = max(1, 2_000_000 // A)
        for first in range(0, s.communes, per_chunk):
            if time.monotonic() > self.stop_at:
                self.complete = False
                print(f"  time budget spent: attendance for {first} of {s.communes} communes")
                return
            last = min(s.communes, first + per_chunk)
            session = f"c * {S} + (k + (j / {P}) * {S // 10}) % {S} + 1"
            statement = sql.insert(
                "attendance",
                {
                    "id": "n + 1",
                    "occasion_kind": "'session'",
                    "occasion_id": session,
                    "person_id": f"c * {P} + k + 1",
                    "status": f"CASE WHEN k % 5 = 4 THEN 'absent' WHEN j / {P} = 3 THEN 'late'"
                    " ELSE 'present' END",
                    "method": "'self_scan'",
                    "recorded_at": sql.ts(f"((k + (j / {P}) * {S // 10}) % {S}) % 600", "500"),
                    "recorded_by_id": "NULL",
                    "device_key": "NULL",
                    "updated_at": sql.ts(f"((k + (j / {P}) * {S // 10}) % {S}) % 600", "500"),
                },
                first * A,
                last * A,
                self.per_commune(A, f"n % {P}"),
            )
            self.run(f"attendance {first + 1}-{last}", [statement])

    codes: list[str] = []


def chunks(total: int, size: int):
    for lo in range(0, total, size):
        yield lo, lo + size


# --- the set-up, the measurements --------------------------------------------------------------


def prepare(url: str) -> list[str]:
    """Migrations, the draft framework, the plan's indicators; the citizens' required codes."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from webapp.learning import framework
    from webapp.learning.models import CertificateRule
    from webapp.reports.services import seed_indicators

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade(revision="heads")
        now = datetime(2025, 1, 1, tzinfo=UTC)
        framework.seed_framework(now)
        seed_indicators(now=now)
        db.session.commit()
        version = framework.current_version()
        rule = db.session.scalar(
            select(CertificateRule).where(
                CertificateRule.version_id == version.id, CertificateRule.target_group == "citizen"
            )
        )
        codes = list(rule.required_codes) if rule else []
        db.session.remove()
        db.engine.dispose()
    return codes


def finish(engine) -> None:
    """Sequences past the ids written (later inserts by the app), and statistics: what
    autovacuum gathers on PostgreSQL, and on SQLite what the daily ``flask prune`` gathers
    (``webapp.extensions.refresh_statistics``)."""
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
            conn.exec_driver_sql("ANALYZE")
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in [
            "communes",
            "villages",
            "users",
            "courses",
            "classes",
            "households",
            "persons",
            "class_sessions",
            "evidence",
            "certificates",
            "mentors",
            "mentorships",
            "attendance",
        ]:
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                )
            )
        conn.execute(text("VACUUM ANALYZE"))


def build(url: str) -> float:
    """Seconds to build every person's spans from the generated records (what the first
    reading does after the migration, or ``flask reports rebuild``)."""
    from webapp.reports import reach

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        start = time.perf_counter()
        reach.rebuild_everyone()
        db.session.commit()
        seconds = time.perf_counter() - start
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE report_spans"))
                conn.execute(text("VACUUM ANALYZE report_counts"))
        else:
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        db.session.remove()
        db.engine.dispose()
    return seconds


def counts(engine) -> dict[str, int]:
    tables = {
        "communes": "communes",
        "persons": "persons",
        "households": "households",
        "sessions": "class_sessions",
        "attendance": "attendance",
        "evidence": "evidence",
        "certificates": "certificates",
        "mentors": "mentors",
        "mentorships": "mentorships",
    }
    with engine.connect() as conn:
        return {k: conn.scalar(text(f"SELECT count(*) FROM {t}")) for k, t in tables.items()}


def login(client, user_id: int) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = f"{user_id}:0"
        session["_fresh"] = True


def timed_get(client, path: str) -> float:
    """Milliseconds of one GET (in-process: the server's time)."""
    start = time.perf_counter()
    response = client.get(path)
    ms = 1000 * (time.perf_counter() - start)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path}: {response.status_code}")
    return ms


class StatementTimer:
    """Every statement of the requests made meanwhile, with its time at the cursor."""

    def __init__(self, engine):
        self.engine, self.found, self.started = engine, [], []

    def before(self, conn, cursor, statement, parameters, context, executemany):
        self.started.append(time.perf_counter())

    def after(self, conn, cursor, statement, parameters, context, executemany):
        ms = 1000 * (time.perf_counter() - self.started.pop())
        self.found.append((ms, statement, parameters))

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self.before)
        event.listen(self.engine, "after_cursor_execute", self.after)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self.before)
        event.remove(self.engine, "after_cursor_execute", self.after)


def explain(engine, statement: str, parameters) -> list[str]:
    """The plan of one statement as the dashboard ran it (EXPLAIN ANALYZE on PostgreSQL)."""
    pg = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if pg else "EXPLAIN QUERY PLAN "
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(prefix + statement, parameters)
        rows = cursor.fetchall()
    finally:
        raw.close()
    return [r[0] if pg else f"{'  ' * (r[1] > 0)}{r[3]}" for r in rows]


def checkins(engine, count: int) -> tuple[int, float]:
    """``count`` new check-ins (attendance rows; fewer when commune 1 has fewer people) to a
    new session of commune 1, people who never attended first: how many, and their write
    time in milliseconds."""
    from webapp.checkin.models import Attendance
    from webapp.scheduling.models import ClassSession

    now = datetime.now(UTC)
    with engine.begin() as conn:
        session_id = conn.scalar(text("SELECT max(id) + 1 FROM class_sessions"))
        conn.execute(
            insert(ClassSession.__table__).values(
                id=session_id,
                class_id=1,
                starts_at=now,
                ends_at=now,
                topic="Buổi mới",
                note="",
                cancel_reason="",
                clash_override_note="",
                created_at=now,
            )
        )
        people = conn.scalars(
            text(
                "SELECT id FROM persons WHERE commune_id = 1"
                " ORDER BY CASE WHEN id % 5 = 0 THEN 0 ELSE 1 END, id LIMIT :n"
            ),
            {"n": count},
        ).all()
    rows = [
        {
            "occasion_kind": "session",
            "occasion_id": session_id,
            "person_id": person,
            "status": "present",
            "method": "self_scan",
            "recorded_at": now,
            "updated_at": now,
        }
        for person in people
    ]
    start = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(insert(Attendance.__table__), rows)
    return len(rows), 1000 * (time.perf_counter() - start)


def measure(scale: str, url: str, args) -> dict:
    shape = Shape.of(scale, args.scale_factor)
    print(f"scale               {scale} ({url.split('://')[0]}), factor {args.scale_factor}")
    codes = prepare(url)
    engine = create_engine(url, poolclass=NullPool)
    generator = Generator(engine, shape, args.generate_budget)
    generator.codes = codes
    start = time.perf_counter()
    generator.all()
    finish(engine)
    generated_s = time.perf_counter() - start
    for step, seconds in generator.steps:
        print(f"  {step:<34} {seconds:8.1f} s")
    rows = counts(engine)
    print(
        f"generated           {generated_s:8.1f} s  "
        + ", ".join(f"{k} {v:,}" for k, v in rows.items())
        + ("" if generator.complete else "  (INCOMPLETE: time budget spent)")
    )
    engine.dispose()
    built_s = build(url)
    print(f"spans built         {built_s:8.1f} s  (every person's, from the generated records)")

    user_id = 2 if scale == "commune" else 1
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    client = app.test_client()
    login(client, user_id)
    cold = timed_get(client, DASHBOARD)
    warm = statistics.median(timed_get(client, DASHBOARD) for _ in range(args.repeat))
    with app.app_context():
        engine = db.engine
    with StatementTimer(engine) as timer:
        timed_get(client, DASHBOARD)
    heaviest_ms, heaviest, parameters = max(timer.found, key=lambda f: f[0])
    statements = len(timer.found)
    sql_ms = sum(f[0] for f in timer.found)
    export_s = None
    if any(rule.rule == EXPORT for rule in app.url_map.iter_rules()):
        export_s = statistics.median(timed_get(client, EXPORT) for _ in range(3)) / 1000
    panels = {
        name: round(timed_get(client, f"/reports/panels/{name}"), 1)
        for name in PANELS
        if any(rule.rule == f"/reports/panels/{name}" for rule in app.url_map.iter_rules())
    }
    written, write_ms = checkins(engine, CHECKINS)
    with StatementTimer(engine) as refresh_timer:
        refresh = timed_get(client, DASHBOARD)
    plan = explain(engine, heaviest, parameters)

    target = TARGETS[scale]
    one_line = " ".join(heaviest.split())
    print(f"dashboard cold      {cold:8.1f} ms  (first request of a new app after generating)")
    print(
        f"dashboard warm      {warm:8.1f} ms  (median of {args.repeat}; target ≤ {target:.0f} ms"
        f" on {'SQLite' if scale == 'commune' else 'PostgreSQL'})"
    )
    print(
        "export .xlsx        "
        + (f"{export_s:8.2f} s" if export_s is not None else f"    null    (no {EXPORT})")
    )
    print(
        "lazy panels         "
        + ", ".join(f"{name} {ms:,.0f} ms" for name, ms in panels.items())
        + "  (each one request after the page)"
    )
    print(
        f"refresh             {refresh:8.1f} ms  (the dashboard right after {written:,} new"
        f" check-ins, written in {write_ms:.0f} ms: the request rebuilds their spans first;"
        f" target ≤ {TARGETS['refresh']:.0f} ms)"
    )
    refresh_sql = sorted(refresh_timer.found, key=lambda f: -f[0])
    print(
        f"  its SQL           {sum(f[0] for f in refresh_sql):8.1f} ms  ({len(refresh_sql)}"
        " statements; the slowest:)"
    )
    for ms, statement, _ in refresh_sql[:4]:
        print(f"    {ms:8.1f} ms  {' '.join(statement.split())[:90]}")
    if refresh_sql and args.refresh_plan:
        _ms, statement, parameters = refresh_sql[0]
        print("  the slowest, in full, and its plan (run again and rolled back):")
        print("    " + " ".join(statement.split())[:1500])
        for line in explain(engine, statement, parameters)[: args.plan_lines]:
            print(f"    {line}")
    print(
        f"SQL at the cursor   {sql_ms:8.1f} ms  ({statements} statements in one warm request;"
        " the rest is Python and templates)"
    )
    for ms, statement, _ in sorted(timer.found, key=lambda f: -f[0])[1:5]:
        print(f"  then              {ms:8.1f} ms  {' '.join(statement.split())[:80]}")
    print(f"heaviest statement  {heaviest_ms:8.1f} ms  of them:")
    print(f"                    {one_line[:80]}")
    print("  plan:")
    for line in plan[: args.plan_lines]:
        print(f"    {line}")
    print()
    app_engine = engine
    app_engine.dispose()
    return {
        "dashboard_ms": round(warm, 1),
        "dashboard_cold_ms": round(cold, 1),
        "export_s": round(export_s, 3) if export_s is not None else None,
        "refresh_ms": round(refresh, 1),
        "refresh_write_ms": round(write_ms, 1),
        "refresh_checkins": written,
        "heaviest_query_ms": round(heaviest_ms, 1),
        "heaviest_query": one_line[:80],
        "statements": statements,
        "sql_ms": round(sql_ms, 1),
        "target_ms": target,
        "generated_s": round(generated_s, 1),
        "spans_built_s": round(built_s, 1),
        "panels_ms": panels,
        "complete": generator.complete,
        "database": engine.dialect.name,
        "rows": rows,
    }


def scratch_postgresql(server: str, name: str):
    """A new empty database ``name`` on the server (dropped first when left over); its URL
    and a function dropping it, or None when the server cannot be reached."""
    target = make_url(database_url(server))
    admin = create_engine(
        target.set(database="postgres"),
        poolclass=NullPool,
        connect_args={"connect_timeout": 3},
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # any failure: not available
        print(f"postgresql          not available ({type(error).__name__}): province skipped")
        return None

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return target.set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--refresh-plan",
        action="store_true",
        help="print the slowest statement of the refresh in full with its plan",
    )
    parser.add_argument("--scale-factor", type=float, default=1.0, help="shrinks both scales")
    parser.add_argument("--scales", default="commune,province", help="comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="warm requests (median)")
    parser.add_argument(
        "--generate-budget",
        type=float,
        default=600,
        help="seconds of generation per scale before attendance stops being added",
    )
    parser.add_argument("--plan-lines", type=int, default=40, help="lines of plan printed")
    parser.add_argument(
        "--postgresql",
        default=os.environ.get("TEST_DATABASE_URL") or PG_DEFAULT,
        help="the PostgreSQL server (its database name is ignored: a scratch one is used)",
    )
    parser.add_argument("--pg-database", default="bench_reports", help="scratch database name")
    args = parser.parse_args()
    scales = [s.strip() for s in args.scales.split(",") if s.strip()]

    figures = {}
    with tempfile.TemporaryDirectory(prefix="lopso-reports-") as tmp:
        if "commune" in scales:
            figures["commune"] = measure("commune", f"sqlite:///{tmp}/bench.sqlite3", args)
        if "province" in scales:
            found = scratch_postgresql(args.postgresql, args.pg_database)
            figures["province"] = None
            if found is not None:
                url, drop = found
                try:
                    figures["province"] = measure("province", url, args)
                finally:
                    drop()
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
