"""The floor of the check-in benchmark: a bare Flask app whose one route inserts one row.

No CSRF, no session, no ORM: one ``INSERT`` with SQLAlchemy Core and a commit, on the same
database with the same SQLite settings as the app (WAL, busy timeout). Served by the same
gunicorn command as the app, so the ratio of the two throughputs is what the app's own work
costs. ``BENCH_DATABASE_URL`` names the database (an SQLAlchemy URL).

    gunicorn --pythonpath bench 'bare_app:create_app()'
"""

import os
import sqlite3
from datetime import UTC, datetime

from flask import Flask, request
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, create_engine, event, insert
from sqlalchemy.engine import Engine

metadata = MetaData()
bench_bare = Table(
    "bench_bare",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("n", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """The same pragmas as webapp.extensions, so both apps write to SQLite alike."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def create_app(url: str | None = None) -> Flask:
    """The bare app on ``url`` (default: the ``BENCH_DATABASE_URL`` environment variable)."""
    engine = create_engine(url or os.environ["BENCH_DATABASE_URL"])
    app = Flask(__name__)

    @app.post("/insert")
    def insert_one():
        with engine.begin() as conn:  # one transaction: the insert, then the commit
            conn.execute(
                insert(bench_bare).values(
                    n=request.form.get("n", 0, type=int), at=datetime.now(UTC)
                )
            )
        return "", 204

    return app
