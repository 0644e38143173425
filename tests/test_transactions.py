"""Savepoints are rolled back with the request on SQLite too: one helper opens them."""

import re
from pathlib import Path

from sqlalchemy import func, select

from tests.factories import make_commune
from webapp.extensions import db, savepoint
from webapp.people.models import Commune

ROOT = Path(__file__).resolve().parent.parent / "webapp"


def test_only_the_helper_opens_savepoints():
    """``db.session.begin_nested()`` on SQLite outside a transaction commits when released;
    the app opens savepoints through ``webapp.extensions.savepoint`` only."""
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in ROOT.rglob("*.py")
        if path.name != "extensions.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bbegin_nested\(", line)
    ]
    assert found == []


def test_a_savepoint_is_rolled_back_with_the_transaction(app):
    with app.app_context():
        db.session.commit()  # nothing open: the state of a request's first write
        with savepoint():
            db.session.add(Commune(code="SAVEPT", name="Savepoint", province="Quảng Ngãi"))
        db.session.rollback()
        assert db.session.scalar(select(func.count(Commune.id))) == 0


def test_work_before_a_savepoint_is_rolled_back_too(app):
    with app.app_context():
        make_commune(code="BEFORE", name="Before", villages=())
        with savepoint():
            db.session.add(Commune(code="INSIDE", name="Inside", province="Quảng Ngãi"))
        db.session.rollback()
        assert db.session.scalar(select(func.count(Commune.id))) == 0
