"""Benchmark: learners' phones checking in over HTTP, against a bare one-insert route.

Serves the app with gunicorn on loopback (a temporary SQLite database, then PostgreSQL when
reachable) and drives the real endpoints with N virtual phones, each with its own cookies:

1. first time: every phone identifies (phone number + birth year) for session 1;
2. returning: the same phones check in to session 2 with one tap;
3. bursts: one learner identifying on many phones at once, and one phone tapping many times
   at once: every request must answer 303 and leave one row.

Each phone opens the page (for its CSRF token) before the clock starts; only the POSTs are
timed. Before any of it, each server is warmed up, untimed: the insert routes and the check-in
page, and ``--warm-phones`` more learners (64) identifying on a session of their own and then
tapping on another, so that every worker process has run both check-in paths (its statements
compiled, its caches filled): the figures are those of a running server, not of a new
process's first requests (which cost 0.1-0.2 s of CPU per worker and, with 400 phones, took a
quarter off the first-time rate). The server's CPU time per request (user and system, master
and workers, read from /proc on Linux) is printed with each phase: it shows where a ratio
comes from.

The baseline (``bare_insert_per_s``, and ``ratio`` = check-ins/s over it) is a bare one-insert
route inside the same app, served by the same gunicorn process: bench/checkin_wsgi.py is the app
(``create_app()``) plus one bench-only POST route that inserts one row and commits. So it goes
through the same middleware as a check-in (session cookie, Flask-Login, Flask-Babel, security
headers, error handlers) and the ratio measures what the check-in itself costs. A separate
minimal Flask app (bench/bare_app.py: no extensions, Core insert) is measured too and reported
as ``bare_flask_per_s`` and ``ratio_vs_bare_flask``: what the whole framework stack costs on
top. The in-app baseline runs as many inserts as there are check-ins, in blocks alternating
with the check-in blocks (``--blocks``, 4 per phase), and the minimal app N inserts before each
phase; all on the same database, served by the same gunicorn command and driven by the same
client, so all feel the same load on a shared machine. The last line is JSON, keyed by
database.

    .venv/bin/python bench/checkin.py                       # SQLite, and PostgreSQL if up
    .venv/bin/python bench/checkin.py --n 100 --no-postgresql
      (the PostgreSQL database, default postgresql://postgres@127.0.0.1:5432/bench, is
      emptied: use a scratch database; it is created when missing)
"""

import argparse
import http.client
import json
import os
import queue
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from webapp import create_app  # noqa: E402
from webapp.config import database_url  # noqa: E402
from webapp.extensions import db  # noqa: E402

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/bench"
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
PERSON_ID = re.compile(r'name="person_id" value="(\d+)"')
#: Rate limits lifted: every virtual phone shares one loopback address.
LIMITS = (
    "CHECKIN_MAX_PER_ADDRESS",
    "CHECKIN_MAX_PER_DEVICE",
    "CHECKIN_MAX_FAILURES_PER_ADDRESS",
    "CHECKIN_MAX_FAILURES_PER_PHONE",
)
#: The bench-only one-insert route of bench/checkin_wsgi.py: the baseline.
IN_APP_INSERT = "/bench/insert"
BURST_PHONE = "0899999999"
BURST_YEAR = 1955
LOCK_ID = 20261204  # an advisory lock: two benchmark runs never share one PostgreSQL database


def phone_of(n: int) -> tuple[str, int]:
    return f"09{n:08d}", 1940 + n % 60


# --- the client: one virtual phone, its own cookies ------------------------------------------


class Phone:
    """A phone's browser: cookies kept between requests, one fresh connection per request."""

    def __init__(self, port: int, timeout: float):
        self.port, self.timeout = port, timeout
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None):
        """(status, body, seconds); the cookies the server sets are kept."""
        headers = {"User-Agent": "lopso-bench", "Accept-Language": "vi"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        start = time.perf_counter()
        try:
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        seconds = time.perf_counter() - start
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, data.decode("utf-8", "replace"), seconds


@dataclass
class Run:
    """The timed requests of one phase."""

    seconds: float = 0.0
    cpu: float = 0.0  # the server's CPU seconds (see Server.cpu_seconds)
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int | str, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.latencies)

    def failures(self, ok: int) -> int:
        return sum(n for status, n in self.statuses.items() if status != ok)


def drive(jobs: list, concurrency: int, deadline_s: float) -> Run:
    """Run ``jobs`` (callables returning (status, seconds)) on ``concurrency`` threads."""
    todo: queue.SimpleQueue = queue.SimpleQueue()
    for job in jobs:
        todo.put(job)
    run, lock = Run(), threading.Lock()
    stop_at = time.monotonic() + deadline_s

    def worker():
        while time.monotonic() < stop_at:
            try:
                job = todo.get_nowait()
            except queue.Empty:
                return
            try:
                status, seconds = job()
            except OSError as error:  # refused, reset or timed out: counted as a failure
                status, seconds = type(error).__name__, 0.0
            with lock:
                run.statuses[status] = run.statuses.get(status, 0) + 1
                if seconds:
                    run.latencies.append(seconds)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, stop_at - time.monotonic()) + 1)
    run.seconds = time.perf_counter() - start
    left = todo.qsize()
    if left or any(t.is_alive() for t in threads):
        run.statuses["timeout"] = run.statuses.get("timeout", 0) + left
    return run


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# --- servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _orphan_guard() -> None:
    """In the server before it starts: its own process group (stopped as one), and on Linux
    a SIGTERM when the benchmark dies, even killed outright (a test's timeout)."""
    os.setsid()
    if sys.platform == "linux":
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Server:
    """A gunicorn on loopback, stopped (and its log kept) whatever happens."""

    def __init__(self, app: str, env: dict, args, log: Path, pythonpath: Path | None = None):
        self.port = free_port()
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "python:webapp.gunicorn_conf",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            args.worker_class,
            "--threads",
            str(args.threads),
            "--backlog",
            "2048",
            "--timeout",
            str(int(args.phase_timeout)),
            "--log-level",
            "warning",
        ]
        if pythonpath:
            command += ["--pythonpath", str(pythonpath)]
        self.log = log
        self.process = subprocess.Popen(
            [*command, app],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
            preexec_fn=_orphan_guard,
        )

    def wait_ready(self, path: str, timeout: float) -> None:
        stop_at = time.monotonic() + timeout
        while time.monotonic() < stop_at:
            if self.process.poll() is not None:
                break
            try:
                Phone(self.port, 5).request("GET", path)
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not start:\n{self.log.read_text()[-3000:]}")

    def warm(self, path: str, concurrency: int, seconds: float, form=None) -> None:
        """Keep every worker busy for a moment (imports, connections), untimed."""
        stop_at = time.monotonic() + seconds
        method = "GET" if form is None else "POST"
        while time.monotonic() < stop_at:
            jobs = [timed_post(Phone(self.port, 30), path, form, method)] * concurrency
            drive(jobs, concurrency, 30)

    def cpu_seconds(self) -> float:
        """CPU time (user and system, every thread) used so far by the server's processes:
        its master and workers, the process group it leads. Linux only (0 elsewhere)."""
        ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == self.process.pid:  # fields 5, 14 and 15 of proc(5)
                    ticks += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                continue
        return ticks / os.sysconf("SC_CLK_TCK") if ticks else 0.0

    def drive(self, jobs: list, concurrency: int, deadline_s: float) -> Run:
        """:func:`drive`, with the CPU time the server spent meanwhile."""
        before = self.cpu_seconds()
        run = drive(jobs, concurrency, deadline_s)
        run.cpu = self.cpu_seconds() - before
        return run

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


# --- databases -------------------------------------------------------------------------------


def postgresql_database(url: str):
    """Create the database when missing and empty it; the lock-holding connection, or None
    when the server cannot be reached."""
    url = database_url(url)
    target = make_url(url)
    try:
        admin = create_engine(
            target.set(database="postgres"),
            poolclass=NullPool,
            connect_args={"connect_timeout": 3},
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as conn:
            found = conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": target.database}
            )
            if not found:
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
        admin.dispose()
    except Exception as error:  # any failure: not available
        print(f"postgresql          not available ({type(error).__name__}): skipped")
        return None
    lock = create_engine(url, poolclass=NullPool).connect()
    lock.execute(text("SELECT pg_advisory_lock(:id)"), {"id": LOCK_ID})
    lock.commit()
    with create_engine(url, poolclass=NullPool).begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    return lock


@dataclass
class World:
    tokens: tuple[str, str]
    session_ids: tuple[int, int]
    burst_person_id: int
    #: Two more sessions of the class, and learners of their own, for the warm-up.
    warm_tokens: tuple[str, str]
    warm_learners: range


def build(url: str, n: int, warm: int) -> World:
    """The schema (real migrations) and one class of ``n`` learners with two sessions under
    way now (and ``warm`` more learners and two more sessions for the warm-up), plus the
    bare app's table."""
    from bare_app import metadata
    from flask_migrate import upgrade

    from webapp.accounts.models import User
    from webapp.checkin import services
    from webapp.checkin.occasions import SessionOccasion
    from webapp.people.models import Commune, Person, Village
    from webapp.permissions import Role
    from webapp.scheduling.models import ClassSession, Course, CourseClass, Enrolment
    from webapp.timeutil import utcnow

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade(revision="heads")  # every branch (sibling heads until they are merged)
        metadata.create_all(db.engine)
        now = utcnow().replace(microsecond=0)
        commune = Commune(
            code="BENCH", name="Xã Bench", province="Quảng Ngãi", committee_name="UBND xã Bench"
        )
        village = Village(commune=commune, name="Thôn 1", position=1)
        db.session.add_all([commune, village])
        db.session.flush()
        trainer = User(
            username="trainer",
            full_name="Trainer",
            password_hash="x",
            role=Role.TRAINER,
            commune_id=commune.id,
            active=True,
            created_at=now,
        )
        db.session.add(trainer)
        db.session.flush()
        course = Course(
            commune_id=commune.id,
            title="Kỹ năng số",
            summary="",
            target_groups=["citizen"],
            segments=["older"],
            competency_codes=["0.1"],
            planned_hours=4,
            planned_sessions=2,
            created_by_id=trainer.id,
            created_at=now,
        )
        course_class = CourseClass(
            course=course,
            commune_id=commune.id,
            village_id=village.id,
            name="Lớp Bench",
            capacity=n + 10,
            target_groups=["citizen"],
            segments=["older"],
            status="open",
            public_token=secrets.token_urlsafe(16),
            trainers=[trainer],
            created_by_id=trainer.id,
            created_at=now,
        )
        sessions = [
            ClassSession(
                course_class=course_class,
                starts_at=now - timedelta(minutes=m),
                ends_at=now + timedelta(hours=2),
                created_at=now,
            )
            for m in (10, 5, 20, 15)  # measured: the first two; warm-up: the others
        ]
        db.session.add_all([course, course_class, *sessions])
        people = []
        for i in range(n + 1 + warm):
            phone, year = (BURST_PHONE, BURST_YEAR) if i == n else phone_of(i)
            person = Person(
                commune_id=commune.id,
                village_id=village.id,
                birth_year=year,
                phone=phone,
                target_group="citizen",
                created_at=now,
                updated_at=now,
            )
            person.set_name(f"Nguyễn Văn Học {i:04d}")
            person.refresh_search_text()
            people.append(person)
        db.session.add_all(people)
        db.session.add_all(
            Enrolment(course_class=course_class, person=p, status="enrolled", since=now)
            for p in people
        )
        db.session.flush()
        points = [services.point_for(SessionOccasion(s), now=now) for s in sessions]
        db.session.commit()
        world = World(
            (points[0].token, points[1].token),
            (sessions[0].id, sessions[1].id),
            people[n].id,
            (points[2].token, points[3].token),
            range(n + 1, n + 1 + warm),
        )
        db.session.remove()
        db.engine.dispose()
    return world


def count_rows(url: str, world: World) -> tuple[int, int, int]:
    """(rows, distinct (occasion, person) pairs, duplicated rows) in the attendance table."""
    engine = create_engine(url, poolclass=NullPool)
    ids = {"a": world.session_ids[0], "b": world.session_ids[1]}
    where = "WHERE occasion_kind = 'session' AND occasion_id IN (:a, :b)"
    with engine.connect() as conn:
        rows = conn.scalar(text(f"SELECT COUNT(*) FROM attendance {where}"), ids)
        distinct = conn.scalar(
            text(
                f"SELECT COUNT(*) FROM (SELECT 1 FROM attendance {where}"
                " GROUP BY occasion_kind, occasion_id, person_id) AS pairs"
            ),
            ids,
        )
        duplicated = conn.scalar(
            text(
                "SELECT COALESCE(SUM(c - 1), 0) FROM (SELECT COUNT(*) AS c FROM attendance"
                " GROUP BY occasion_kind, occasion_id, person_id HAVING COUNT(*) > 1) AS dups"
            )
        )
    engine.dispose()
    return rows, distinct, int(duplicated)


# --- the measurements ------------------------------------------------------------------------


def page_token(phone: Phone, path: str) -> tuple[str, str]:
    """Open the check-in page (untimed): its CSRF token and the person shown, if any."""
    status, html, _ = phone.request("GET", path)
    token = CSRF.search(html)
    if status != 200 or token is None:
        raise RuntimeError(f"GET {path} gave {status}:\n{html[:1000]}")
    person = PERSON_ID.search(html)
    return token.group(1), person.group(1) if person else ""


def timed_post(phone: Phone, path: str, form: dict | None, method: str = "POST"):
    def job():
        status, _, seconds = phone.request(method, path, form)
        return status, seconds

    return job


def untimed(jobs: list, concurrency: int, deadline_s: float) -> list:
    """Run preparation jobs on threads and return their results in order."""
    results: list = [None] * len(jobs)

    def job_at(i):
        def job():
            results[i] = jobs[i]()
            return 200, 0.0

        return job

    run = drive([job_at(i) for i in range(len(jobs))], concurrency, deadline_s)
    if run.failures(200):
        raise RuntimeError(f"preparing requests failed: {run.statuses}")
    return results


def bench_checkin(app: "Server", flask: "Server", world: World, args) -> dict:
    """The check-in phases, in blocks alternating with blocks of the in-app insert route on
    ``app``, each phase right after a run of the minimal Flask app ``flask``, so that all feel
    the same machine load."""
    n, c, limit = args.n, args.concurrency, args.phase_timeout
    port = app.port
    scan = [f"/c/{t}" for t in world.tokens]
    phones = [Phone(port, limit) for _ in range(n)]

    # 1. First time: identify with phone number and birth year.
    jobs = identify_jobs(phones, range(n), scan[0], c, limit)
    flask_runs = [bench_bare(flask, "/insert", n, args, first=0)]
    first, bare = interleaved(app, jobs, args, first=0)

    # 2. Returning: the phone knows its learner; one tap.
    jobs, missing = tap_jobs(phones, scan[1], c, limit)
    flask_runs.append(bench_bare(flask, "/insert", n, args, first=n))
    returning, more = interleaved(app, jobs, args, first=n)
    bare += more

    # 3. Bursts: one learner on many phones at once (racing to create one row), and one
    # phone tapping many times at once (the row exists).
    burst_phones = [Phone(port, limit) for _ in range(args.burst)]
    tokens_b = untimed([lambda p=p: page_token(p, scan[1]) for p in burst_phones], c, limit)
    burst = drive(
        at_once(
            [
                timed_post(
                    p,
                    scan[1],
                    {
                        "csrf_token": t,
                        "action": "identify",
                        "phone": BURST_PHONE,
                        "birth_year": BURST_YEAR,
                    },
                )
                for p, (t, _) in zip(burst_phones, tokens_b, strict=True)
            ],
            limit,
        ),
        args.burst,
        limit,
    )
    token, person = page_token(phones[0], scan[0])
    tap = timed_post(
        phones[0], scan[0], {"csrf_token": token, "action": "checkin", "person_id": person}
    )
    taps = drive(at_once([tap] * args.burst, limit), args.burst, limit)
    return {
        "first": first,
        "returning": returning,
        "burst": burst,
        "taps": taps,
        "bare": merged(bare),
        "bare_flask": merged(flask_runs),
        "unrecognised_phones": missing,
    }


def warm_checkins(app: "Server", world: World, args) -> None:
    """Untimed: the warm-up's learners do what the measured phones will do, on the warm-up's
    two sessions (identify on the first, one tap on the second), so that every worker has
    run both paths (statements compiled, caches filled) before the clock starts."""
    c, limit = args.concurrency, args.phase_timeout
    scan = [f"/c/{t}" for t in world.warm_tokens]
    phones = [Phone(app.port, limit) for _ in world.warm_learners]
    _warm_run(identify_jobs(phones, world.warm_learners, scan[0], c, limit), c, limit)
    _warm_run(tap_jobs(phones, scan[1], c, limit)[0], c, limit)


def _warm_run(jobs: list, concurrency: int, deadline_s: float) -> None:
    run = drive(jobs, concurrency, deadline_s)
    if run.failures(303):
        raise RuntimeError(f"the warm-up's check-ins failed: {run.statuses}")


def identify_jobs(phones: list, learners, path: str, concurrency: int, limit: float) -> list:
    """Each phone opens the page (untimed) and then, timed, identifies as its learner (by
    index, see :func:`phone_of`)."""
    tokens = untimed([lambda p=p: page_token(p, path) for p in phones], concurrency, limit)
    return [
        timed_post(
            p,
            path,
            {
                "csrf_token": token,
                "action": "identify",
                "phone": phone_of(i)[0],
                "birth_year": phone_of(i)[1],
            },
        )
        for p, i, (token, _) in zip(phones, learners, tokens, strict=True)
    ]


def tap_jobs(phones: list, path: str, concurrency: int, limit: float) -> tuple[list, int]:
    """Each phone opens the page (untimed), which shows its learner, and then, timed, checks
    in with one tap; and how many pages did not show a learner."""
    tokens = untimed([lambda p=p: page_token(p, path) for p in phones], concurrency, limit)
    missing = sum(1 for _, person in tokens if not person)
    return [
        timed_post(p, path, {"csrf_token": token, "action": "checkin", "person_id": person})
        for p, (token, person) in zip(phones, tokens, strict=True)
    ], missing


def interleaved(app: "Server", jobs: list, args, *, first: int) -> tuple[Run, list[Run]]:
    """The check-in ``jobs`` in ``args.blocks`` blocks, each right after a block of as many
    in-app inserts, so that the check-ins and their baseline feel the same machine load even
    when it changes within seconds (a shared machine): (the check-ins, the baseline blocks)."""
    size = -(-len(jobs) // max(1, args.blocks))
    runs, bases = [], []
    for start in range(0, len(jobs), size):
        block = jobs[start : start + size]
        bases.append(bench_bare(app, IN_APP_INSERT, len(block), args, first=first + start))
        runs.append(app.drive(block, args.concurrency, args.phase_timeout))
    return merged(runs), bases


def at_once(jobs: list, timeout: float) -> list:
    """The jobs, each waiting for all the others before it sends its request."""
    gate = threading.Barrier(len(jobs))

    def gated(job):
        def run():
            gate.wait(timeout)
            return job()

        return run

    return [gated(job) for job in jobs]


def bench_bare(server: "Server", path: str, count: int, args, *, first: int) -> Run:
    jobs = [
        timed_post(Phone(server.port, args.phase_timeout), path, {"n": first + i})
        for i in range(count)
    ]
    return server.drive(jobs, args.concurrency, args.phase_timeout)


def merged(runs: list[Run]) -> Run:
    total = Run()
    for run in runs:
        total.seconds += run.seconds
        total.cpu += run.cpu
        total.latencies += run.latencies
        for status, count in run.statuses.items():
            total.statuses[status] = total.statuses.get(status, 0) + count
    return total


def measure(name: str, url: str, args, tmp: Path) -> dict:
    world = build(url, args.n, args.warm_phones)
    env = {
        "DATABASE_URL": url,
        "BENCH_DATABASE_URL": url,
        "SECRET_KEY": "bench",
        **{f"LOPSO_{k}": "1000000000" for k in LIMITS},
    }
    flask = Server("bare_app:create_app()", env, args, tmp / f"{name}-flask.log", BENCH)
    app = Server("checkin_wsgi:bench_app()", env, args, tmp / f"{name}-app.log", BENCH)
    try:
        flask.wait_ready("/", 30)
        app.wait_ready(f"/c/{world.tokens[0]}", 60)
        flask.warm("/insert", args.concurrency, args.warm, form={"n": -1})
        app.warm(IN_APP_INSERT, args.concurrency, args.warm / 2, form={"n": -1})
        app.warm(f"/c/{world.tokens[0]}", args.concurrency, args.warm / 2)
        warm_checkins(app, world, args)
        runs = bench_checkin(app, flask, world, args)
    finally:
        app.stop()
        flask.stop()
    if any(runs[k].failures(303) for k in ("first", "returning", "burst", "taps")):
        print(f"app log (end):\n{app.log.read_text()[-3000:]}", file=sys.stderr)
    rows, distinct, duplicated = count_rows(url, world)
    return report(name, args, runs, rows, distinct, duplicated)


def cpu_ms(run: Run) -> float:
    """The server's CPU milliseconds per request of ``run`` (master and workers)."""
    return 1000 * run.cpu / run.count if run.count else float("nan")


def report(name, args, runs: dict, rows, distinct, duplicated) -> dict:
    first, returning = runs["first"], runs["returning"]
    base, flask = runs["bare"], runs["bare_flask"]  # in-app route; minimal Flask app
    timed = first.latencies + returning.latencies
    checkins_per_s = (first.count + returning.count) / (first.seconds + returning.seconds)
    bare_per_s = base.count / base.seconds
    flask_per_s = flask.count / flask.seconds
    expected = 2 * args.n + 1  # every phone twice, and the burst's learner once
    failures = sum(runs[k].failures(303) for k in ("first", "returning", "burst", "taps"))
    ms = 1000
    print(f"database            {name}")
    print(
        f"learners            {args.n:,} phones, {args.concurrency} client threads, gunicorn "
        f"{args.workers} x {args.worker_class} ({args.threads} thread(s))"
    )
    for label, run in (("first time", first), ("returning", returning)):
        print(
            f"{label:<19} {run.count / run.seconds:8.1f} check-ins/s   p50 "
            f"{percentile(run.latencies, 50) * ms:6.1f} ms   p99 "
            f"{percentile(run.latencies, 99) * ms:6.1f} ms   server CPU "
            f"{cpu_ms(run):4.2f} ms   {run.statuses}"
        )
    print(
        f"check-ins (both)    {checkins_per_s:8.1f} /s        p50 "
        f"{percentile(timed, 50) * ms:6.1f} ms   p99 {percentile(timed, 99) * ms:6.1f} ms"
    )
    print(
        f"baseline: in-app    {bare_per_s:8.1f} inserts/s     p50 "
        f"{percentile(base.latencies, 50) * ms:6.1f} ms   p99 "
        f"{percentile(base.latencies, 99) * ms:6.1f} ms   server CPU "
        f"{cpu_ms(base):4.2f} ms   {base.statuses}"
    )
    print("                    (a one-insert route in the same app and gunicorn process)")
    print(f"ratio               {checkins_per_s / bare_per_s:8.2f} of the in-app insert route")
    print(
        f"bare Flask app      {flask_per_s:8.1f} inserts/s     p50 "
        f"{percentile(flask.latencies, 50) * ms:6.1f} ms   p99 "
        f"{percentile(flask.latencies, 99) * ms:6.1f} ms   {flask.statuses}"
    )
    print(
        f"                    check-ins are {checkins_per_s / flask_per_s:.2f} of it "
        "(bench/bare_app.py: no extensions; for information)"
    )
    print(
        f"bursts              one learner on {args.burst} phones {runs['burst'].statuses}, "
        f"one phone tapping {args.burst} times {runs['taps'].statuses}"
    )
    print(
        f"rows                {rows:,} (expected {expected:,}): lost {expected - distinct}, "
        f"duplicated {duplicated}, failed requests {failures}"
    )
    print()
    return {
        "checkins_per_s": round(checkins_per_s, 1),
        "bare_insert_per_s": round(bare_per_s, 1),
        "ratio": round(checkins_per_s / bare_per_s, 3),
        "p50_ms": round(percentile(timed, 50) * ms, 2),
        "p99_ms": round(percentile(timed, 99) * ms, 2),
        "lost": expected - distinct,
        "duplicated": duplicated,
        "failures": failures
        + base.failures(204)
        + flask.failures(204)
        + runs["unrecognised_phones"],
        "bare_flask_per_s": round(flask_per_s, 1),
        "ratio_vs_bare_flask": round(checkins_per_s / flask_per_s, 3),
        "first_time_per_s": round(first.count / first.seconds, 1),
        "returning_per_s": round(returning.count / returning.seconds, 1),
        "bare_p50_ms": round(percentile(base.latencies, 50) * ms, 2),
        "first_time_cpu_ms": round(cpu_ms(first), 3),
        "returning_cpu_ms": round(cpu_ms(returning), 3),
        "bare_cpu_ms": round(cpu_ms(base), 3),
        "bare_flask_p50_ms": round(percentile(flask.latencies, 50) * ms, 2),
        "n": args.n,
        "concurrency": args.concurrency,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="virtual phones (learners)")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads")
    parser.add_argument("--burst", type=int, default=16, help="requests fired at once")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument(
        "--blocks",
        type=int,
        default=4,
        help="blocks per check-in phase, each right after a baseline block",
    )
    parser.add_argument("--warm", type=float, default=1.5, help="seconds of warm-up per server")
    parser.add_argument(
        "--warm-phones",
        type=int,
        default=64,
        help="learners checking in, untimed, before the timed phases",
    )
    parser.add_argument("--phase-timeout", type=float, default=120, help="seconds per phase")
    parser.add_argument(
        "--postgresql",
        default=os.environ.get("BENCH_POSTGRESQL", PG_DEFAULT),
        help="scratch PostgreSQL database (emptied; created when missing)",
    )
    parser.add_argument("--no-postgresql", action="store_true", help="SQLite only")
    args = parser.parse_args()
    sys.path.insert(0, str(BENCH))  # bare_app, checkin_wsgi
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so the servers are stopped

    figures = {}
    with tempfile.TemporaryDirectory(prefix="lopso-bench-") as tmp:
        tmp = Path(tmp)
        figures["sqlite"] = measure("sqlite", f"sqlite:///{tmp}/bench.sqlite3", args, tmp)
        lock = None if args.no_postgresql else postgresql_database(args.postgresql)
        if lock is not None:
            try:
                figures["postgresql"] = measure(
                    "postgresql", database_url(args.postgresql), args, tmp
                )
            finally:
                lock.close()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
