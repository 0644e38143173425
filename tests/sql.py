"""Counting the SQL statements a request runs (query-count tests)."""

from contextlib import contextmanager

from sqlalchemy import event

from webapp.extensions import db


@contextmanager
def statements(app):
    """Every SQL statement the app runs inside the block."""
    with app.app_context():
        engine = db.engine
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
