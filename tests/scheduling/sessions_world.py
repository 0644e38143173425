"""Test data for the session, calendar and public-schedule tests (call in an app context).

Times: NOW (tests/factories.py) is Tuesday 25/11/2025 10:00 in Vietnam (03:00 UTC).
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from tests.factories import NOW, make_class, make_course, make_user, make_venue
from webapp.accounts.models import User
from webapp.extensions import db
from webapp.people.models import Commune
from webapp.permissions import Role


def utc(year, month, day, hour, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local8(year, month, day) -> datetime:
    """08:00 in Vietnam on that day, as UTC (01:00)."""
    return utc(year, month, day, 1)


@dataclass
class Plan:
    course_id: int
    venue_id: int
    venue2_id: int
    class_id: int  # trained by "trainer", in Thôn 1
    class2_id: int  # trained by "trainer2", in Thôn 2
    trainer2_id: int


def build_plan(world) -> Plan:
    """A course, two venues and two classes of Ngọk Bay, and a second trainer."""
    commune = db.session.get(Commune, world.commune_id)
    trainer = db.session.get(User, world.users["trainer"])
    trainer2 = make_user("trainer2", Role.TRAINER, commune)
    course = make_course(world.commune_id, world.users["organiser"])
    venue = make_venue(world.commune_id, "Nhà văn hóa Thôn 1", village_id=world.village_ids[0])
    venue2 = make_venue(world.commune_id, "Hội trường xã", village_id=None)
    first = make_class(course, [trainer], village_id=world.village_ids[0])
    second = make_class(
        course, [trainer2], name="Lớp nông dân Thôn 2", village_id=world.village_ids[1]
    )
    second.segments = ["trader_farmer"]
    second.target_groups = ["enterprise_worker"]
    db.session.commit()
    return Plan(course.id, venue.id, venue2.id, first.id, second.id, trainer2.id)


@pytest.fixture(name="frozen")
def _frozen(clock):
    """Every view and service sees NOW as the current time."""
    return clock.set(NOW)
