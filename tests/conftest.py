"""Test fixtures: one migrated database per session (SQLite, or PostgreSQL when
TEST_DATABASE_URL is set), emptied after every test."""

import os
import re
from collections.abc import Iterator
from datetime import datetime

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from webapp import create_app
from webapp.config import database_url
from webapp.extensions import db
from webapp.timeutil import utcnow as _REAL_UTCNOW

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
IN_CI = bool(os.environ.get("CI"))
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def _reset_postgresql(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def _app(tmp_path_factory) -> Iterator[Flask]:
    """The app, with its schema built by the real migrations."""
    lock = None
    if TEST_DATABASE_URL:
        url = database_url(TEST_DATABASE_URL)
        # Two test runs against one PostgreSQL database would drop each other's tables:
        # the second run waits for the first (a session-level advisory lock).
        lock = create_engine(url, poolclass=NullPool).connect()
        lock.execute(text("SELECT pg_advisory_lock(20261125)"))
        lock.commit()
        _reset_postgresql(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": url,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast hashing for tests
            "SERVER_NAME": None,
        }
    )
    with app.app_context():
        upgrade(revision="heads")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # close pooled connections before the interpreter does
    if lock is not None:
        lock.close()  # ends the session, which releases the advisory lock


def _empty_all_tables(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        tables = [t for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(table.delete())


@pytest.fixture
def app(_app: Flask) -> Iterator[Flask]:
    """The app with an empty database; everything a test writes is removed afterwards."""
    yield _app
    _empty_all_tables(_app)


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def world(app: Flask):
    """A small commune with two villages and one user per role (see tests/factories.py)."""
    from tests.factories import build_world

    with app.app_context():
        return build_world()


class Actions:
    """Log in and post forms the way a browser does (with the CSRF token of the page)."""

    def __init__(self, client):
        self.client = client

    def csrf_token(self, path: str = "/") -> str:
        page = self.client.get(path, follow_redirects=True)
        found = CSRF_RE.search(page.get_data(as_text=True))
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def post(self, path: str, data: dict | None = None, *, token_from: str = "/", **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token(token_from))
        return self.client.post(path, data=data, **kwargs)

    def login(self, username: str, password: str = "password-123"):
        response = self.post("/auth/login", {"username": username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        return response

    def logout(self):
        return self.post("/auth/logout")


@pytest.fixture
def actions(client) -> Actions:
    return Actions(client)


def pytest_sessionfinish(session, exitstatus):
    """In CI nothing may be skipped: browser and PostgreSQL tests must really run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if IN_CI and reporter is not None and reporter.stats.get("skipped") and exitstatus == 0:
        reporter.write_line("CI: tests were skipped; failing the run (see -rs).", red=True)
        session.exitstatus = 1


class Clock:
    """The time every view and service of the app sees, set by a test."""

    def __init__(self, now: datetime):
        self.now = now

    def set(self, now: datetime) -> datetime:
        self.now = now
        return now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(app: Flask, monkeypatch) -> Clock:
    """Fake the clock in one place: every ``webapp`` module that took ``utcnow`` from
    ``webapp.timeutil`` calls this clock instead, for this test. It starts at the real time;
    ``clock.set(moment)`` moves it (an aware UTC datetime)."""
    import sys

    from webapp import timeutil

    fake = Clock(timeutil.utcnow())
    monkeypatch.setattr(timeutil, "utcnow", fake)
    for name, module in list(sys.modules.items()):
        if name.startswith("webapp.") and getattr(module, "utcnow", None) is _REAL_UTCNOW:
            monkeypatch.setattr(module, "utcnow", fake)
    return fake
