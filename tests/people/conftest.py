"""Fixtures of the people tests."""

import pytest

from webapp.accounts.models import User
from webapp.extensions import db


@pytest.fixture
def organiser(app, world):
    """The commune's organiser, inside an app context (imports are staged by organisers)."""
    with app.app_context():
        yield db.session.get(User, world.users["organiser"])
