"""Fixtures of the mentoring tests: the world of tests/factories.py with a few villagers, two
mentors of Thôn 1 and one of Thôn 2, inside an app context."""

from dataclasses import dataclass

import pytest

from tests.factories import NOW, build_world, make_person, make_user
from webapp.accounts.models import User
from webapp.extensions import db
from webapp.mentoring import services
from webapp.mentoring.models import Mentor, Organisation
from webapp.people.models import Commune, Person, Village
from webapp.permissions import Role


@dataclass
class MentoringWorld:
    users: dict[str, User]
    v1: Village
    v2: Village
    other_village: Village
    #: Mentors: "an" (Thôn 1, linked to the log-in "mentor"), "binh" (Thôn 1), "cuong" (Thôn 2).
    mentors: dict[str, Mentor]

    def villager(self, name: str, birth_year: int = 1990, village: Village | None = None, **extra):
        """A new person of Thôn 1 (or ``village``)."""
        return make_person(village or self.v1, name, birth_year, **extra)

    def mentor(self, name: str, village: Village | None = None, **extra) -> Mentor:
        """A new mentor of Thôn 1 (or ``village``), made by the organiser."""
        person = self.villager(name, 1998, village)
        return services.make_mentor(
            actor=self.users["organiser"],
            now=NOW,
            person=person,
            organisation=extra.pop("organisation", Organisation.YOUTH_UNION),
            **extra,
        )


@pytest.fixture
def mw(app) -> MentoringWorld:
    """The mentoring world, in an app context for the whole test."""
    with app.app_context():
        world = build_world()
        users = {name: db.session.get(User, user_id) for name, user_id in world.users.items()}
        v1, v2 = (db.session.get(Village, i) for i in world.village_ids)
        other_village = db.session.get(Village, world.other_village_id)
        commune = db.session.get(Commune, world.commune_id)
        users["lead2"] = make_user("lead2", Role.VILLAGE_LEAD, commune, v2)
        users["mentor2"] = make_user("mentor2", Role.MENTOR, commune)
        found = MentoringWorld(users, v1, v2, other_village, {})
        found.mentors["an"] = found.mentor("Nguyễn Văn An")
        found.mentors["binh"] = found.mentor("Trần Thị Bình")
        found.mentors["cuong"] = found.mentor("Lê Văn Cường", v2, village_id=v2.id)
        services.link_account(
            actor=users["organiser"], now=NOW, mentor=found.mentors["an"], user=users["mentor"]
        )
        db.session.commit()
        yield found
        db.session.rollback()


def person_ids(people: list[Person]) -> list[int]:
    return [p.id for p in people]
