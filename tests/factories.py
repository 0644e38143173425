"""Builders for test data. Call inside an app context."""

from dataclasses import dataclass
from datetime import UTC, datetime

from webapp.accounts.models import User
from webapp.accounts.services import create_user
from webapp.extensions import db
from webapp.people.models import Commune, Household, Person, Village
from webapp.permissions import Role

NOW = datetime(2025, 11, 25, 3, 0, tzinfo=UTC)
PASSWORD = "password-123"


@dataclass
class World:
    commune_id: int
    other_commune_id: int
    village_ids: list[int]
    other_village_id: int
    users: dict[str, int]


def make_commune(code="NGOKBAY", name="Ngọk Bay", villages=("Thôn 1", "Thôn 2")) -> Commune:
    commune = Commune(code=code, name=name, province="Quảng Ngãi", committee_name=f"UBND xã {name}")
    db.session.add(commune)
    for i, village in enumerate(villages, 1):
        db.session.add(Village(commune=commune, name=village, position=i))
    db.session.flush()
    return commune


def make_user(
    username: str,
    role: str,
    commune: Commune | None,
    village: Village | None = None,
    province_wide: bool = False,
) -> User:
    return create_user(
        actor=None,
        now=NOW,
        username=username,
        full_name=username.title(),
        password=PASSWORD,
        role=role,
        commune_id=commune.id if commune else None,
        village_id=village.id if village else None,
        province_wide=province_wide,
    )


def make_person(
    village: Village,
    full_name: str,
    birth_year: int = 1960,
    *,
    household=None,
    target_group="citizen",
    **extra,
) -> Person:
    person = Person(
        commune_id=village.commune_id,
        village_id=village.id,
        birth_year=birth_year,
        target_group=target_group,
        household=household,
        created_at=NOW,
        updated_at=NOW,
        **extra,
    )
    person.set_name(full_name)
    person.refresh_search_text()
    db.session.add(person)
    db.session.flush()
    return person


def make_household(village: Village, code: str, *, is_poor=False) -> Household:
    household = Household(
        commune_id=village.commune_id, village_id=village.id, code=code, is_poor=is_poor
    )
    db.session.add(household)
    db.session.flush()
    return household


def build_world() -> World:
    """Ngọk Bay (Thôn 1, Thôn 2), a second commune, and one user per role.

    Users: admin (province-wide), organiser, trainer, mentor, lead (village lead of Thôn 1),
    and other_organiser in the other commune. All use the password ``PASSWORD``.
    """
    commune = make_commune()
    other = make_commune("KHAC", "Xã Khác", ("Thôn A",))
    v1, v2 = commune.villages
    users = {
        "admin": make_user("admin", Role.ADMIN, None, province_wide=True),
        "organiser": make_user("organiser", Role.ORGANISER, commune),
        "trainer": make_user("trainer", Role.TRAINER, commune),
        "mentor": make_user("mentor", Role.MENTOR, commune),
        "lead": make_user("lead", Role.VILLAGE_LEAD, commune, v1),
        "other_organiser": make_user("other_organiser", Role.ORGANISER, other),
    }
    db.session.commit()
    return World(
        commune.id,
        other.id,
        [v1.id, v2.id],
        other.villages[0].id,
        {k: u.id for k, u in users.items()},
    )


# --- scheduling -------------------------------------------------------------------------------


def make_course(commune_id: int, creator_id: int, title="Kỹ năng số cho người cao tuổi", **extra):
    from webapp.scheduling.models import Course

    course = Course(
        commune_id=commune_id,
        title=title,
        summary="",
        target_groups=["citizen"],
        segments=["older"],
        competency_codes=["0.1", "2.3"],
        planned_hours=8,
        planned_sessions=4,
        created_by_id=creator_id,
        created_at=NOW,
        **extra,
    )
    db.session.add(course)
    db.session.flush()
    return course


def make_venue(commune_id: int, name="Nhà văn hóa Thôn 1", village_id=None, capacity=40):
    from webapp.scheduling.models import Venue

    venue = Venue(
        commune_id=commune_id,
        village_id=village_id,
        name=name,
        address="",
        capacity=capacity,
        accessibility=["step_free"],
        equipment=["wifi"],
    )
    db.session.add(venue)
    db.session.flush()
    return venue


def make_class(
    course,
    trainers: list[User],
    name="Lớp cao tuổi Thôn 1",
    capacity=10,
    village_id=None,
    status="open",
    public_signup=False,
):
    import secrets

    from webapp.scheduling.models import CourseClass

    course_class = CourseClass(
        course=course,
        commune_id=course.commune_id,
        village_id=village_id,
        name=name,
        capacity=capacity,
        target_groups=["citizen"],
        segments=["older"],
        accommodations=["large_print"],
        status=status,
        public_signup=public_signup,
        public_token=secrets.token_urlsafe(16),
        trainers=trainers,
        created_by_id=trainers[0].id if trainers else 1,
        created_at=NOW,
    )
    db.session.add(course_class)
    db.session.flush()
    return course_class


def make_session(course_class, starts_at, hours=2, venue=None, topic=""):
    from datetime import timedelta

    from webapp.scheduling.models import ClassSession

    session = ClassSession(
        course_class=course_class,
        venue=venue,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        topic=topic,
        note="",
        created_at=NOW,
    )
    db.session.add(session)
    db.session.flush()
    return session
