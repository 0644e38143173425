"""Flask extensions, created once and bound to the app in ``create_app``."""

import sqlite3
from contextlib import contextmanager

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Named constraints, so migrations can alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite: write-ahead log (readers never block the writer), foreign keys, and a wait
    instead of an error when another process holds the write lock."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def begin_writing() -> None:
    """Make sure the session's connection is inside a real transaction, holding SQLite's
    write lock.

    The SQLite driver opens a transaction only before a write, and a SAVEPOINT outside one
    commits when released: a service would commit behind the view's back, and a refusal
    after it could not be rolled back. ``BEGIN IMMEDIATE`` opens one and takes the write lock
    now, so concurrent writers queue here (and the second one sees the first one's rows).
    PostgreSQL needs nothing."""
    connection = db.session.connection()
    if (
        connection.dialect.name == "sqlite"
        and not connection.connection.dbapi_connection.in_transaction
    ):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def savepoint():
    """``db.session.begin_nested()`` that is rolled back with the request's transaction on
    SQLite too (see :func:`begin_writing`): the only way the app opens a savepoint."""
    begin_writing()
    with db.session.begin_nested() as nested:
        yield nested


def refresh_statistics() -> None:
    """Give SQLite's planner statistics of the tables (``ANALYZE``, sampled so that it takes
    well under a second on a commune): without them it may pick a poor index for the reports'
    counts. ``flask prune`` runs it daily; PostgreSQL's autovacuum keeps its own."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA analysis_limit=1000")
        connection.exec_driver_sql("ANALYZE")
