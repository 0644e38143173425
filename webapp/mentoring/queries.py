"""Read-side mentoring queries and the scoped loaders, always limited to what the user may see.

The rules are those of :mod:`webapp.mentoring.access`: managers see their commune's mentors
and mentorships, a village lead their village's, a mentor their own; trainers nothing.
Outside the scope a record is "not found" (404), never "forbidden"; ``for_managing=True``
also asks that the user may change it (403 otherwise: it is listed for them).
"""

from collections.abc import Iterable

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import selectinload

from webapp.accounts.models import User
from webapp.extensions import db
from webapp.mentoring.access import require_mentee_manager, require_mentor_manager
from webapp.mentoring.models import Mentor, Mentorship
from webapp.people.consent import processable
from webapp.people.models import Household, Person, Village
from webapp.permissions import MANAGERS, Role


def _own_mentor_ids(user: User) -> Select:
    return select(Mentor.id).where(Mentor.user_id == user.id)


def _people_of_village(village_id: int) -> Select:
    return select(Person.id).where(Person.village_id == village_id)


def scope_mentors(stmt: Select, user: User) -> Select:
    """Restrict a select over Mentor to those the user may see: their commune's for
    managers (all for province-wide ones), those working in their village for a village lead
    (a mentor without a village: by where they live), their own record for a mentor."""
    if user.role == Role.MENTOR:
        return stmt.where(Mentor.user_id == user.id)
    if user.role == Role.VILLAGE_LEAD and user.village_id is not None:
        return stmt.where(
            or_(
                Mentor.village_id == user.village_id,
                Mentor.village_id.is_(None)
                & Mentor.person_id.in_(_people_of_village(user.village_id)),
            )
        )
    if user.role not in MANAGERS:
        return stmt.where(false())
    return stmt if user.province_wide else stmt.where(Mentor.commune_id == user.commune_id)


def scope_mentorships(stmt: Select, user: User) -> Select:
    """Restrict a select over Mentorship (ended ones too) to those the user may see: their
    commune's for managers, those of their village's mentees for a village lead (whoever the
    mentor), their own mentees' for a mentor."""
    if user.role == Role.MENTOR:
        return stmt.where(Mentorship.mentor_id.in_(_own_mentor_ids(user)))
    if user.role == Role.VILLAGE_LEAD and user.village_id is not None:
        return stmt.where(Mentorship.person_id.in_(_people_of_village(user.village_id)))
    if user.role not in MANAGERS:
        return stmt.where(false())
    return stmt if user.province_wide else stmt.where(Mentorship.commune_id == user.commune_id)


def get_mentor(user: User, mentor_id: int, *, for_managing: bool = False) -> Mentor:
    """The mentor, if the user may see them (else 404); with ``for_managing``, only if the
    user may change them (else 403)."""
    stmt = scope_mentors(select(Mentor), user).where(Mentor.id == mentor_id)
    mentor = db.first_or_404(stmt.options(selectinload(Mentor.person)))
    if for_managing:
        require_mentor_manager(user, mentor)
    return mentor


def get_mentorship(user: User, mentorship_id: int, *, for_managing: bool = False) -> Mentorship:
    """The mentorship, if the user may see it (else 404); with ``for_managing``, only if the
    user may change who mentors its mentee (else 403)."""
    stmt = scope_mentorships(select(Mentorship), user).where(Mentorship.id == mentorship_id)
    mentorship = db.first_or_404(
        stmt.options(selectinload(Mentorship.person), selectinload(Mentorship.mentor))
    )
    if for_managing:
        require_mentee_manager(user, mentorship.person)
    return mentorship


def mentor_of(user: User) -> Mentor | None:
    """The mentor record linked to this log-in (None when there is none or it has ended)."""
    return db.session.scalar(select(Mentor).where(Mentor.user_id == user.id, Mentor.active))


def my_mentees(user: User) -> list[Mentorship]:
    """The active mentorships of the user's own mentor record, each with its mentee, their
    village and household loaded; grouped by household (members together, households by
    code), then in Vietnamese name order. Empty for a log-in without a mentor record. A fixed
    number of statements whatever the number of mentees."""
    stmt = (
        select(Mentorship)
        .join(Person, Person.id == Mentorship.person_id)
        .outerjoin(Household, Household.id == Person.household_id)
        .where(Mentorship.mentor_id.in_(_own_mentor_ids(user)), Mentorship.active, processable())
        .options(
            selectinload(Mentorship.person).selectinload(Person.household),
            selectinload(Mentorship.person).selectinload(Person.village),
        )
        .order_by(Household.code.is_(None), Household.code, Person.sort_key, Person.id)
    )
    return list(db.session.scalars(stmt))


def active_mentorships(mentor: Mentor) -> list[Mentorship]:
    """The mentor's active mentorships with their mentees, in Vietnamese name order."""
    stmt = (
        select(Mentorship)
        .join(Person, Person.id == Mentorship.person_id)
        .where(Mentorship.mentor_id == mentor.id, Mentorship.active)
        .options(selectinload(Mentorship.person).selectinload(Person.household))
        .order_by(Person.sort_key, Person.id)
    )
    return list(db.session.scalars(stmt))


def active_mentorship_of(person_id: int) -> Mentorship | None:
    """The person's active mentorship, if they have one (there is at most one)."""
    return db.session.scalar(
        select(Mentorship).where(Mentorship.person_id == person_id, Mentorship.active)
    )


def history_of(user: User, person: Person) -> list[Mentorship]:
    """Every mentorship of the person the user may see, newest first (ended ones kept)."""
    stmt = scope_mentorships(select(Mentorship), user).where(Mentorship.person_id == person.id)
    stmt = stmt.options(selectinload(Mentorship.mentor).selectinload(Mentor.person))
    return list(db.session.scalars(stmt.order_by(Mentorship.started_at.desc(), Mentorship.id)))


def active_mentee_counts(mentor_ids: Iterable[int]) -> dict[int, int]:
    """Number of active mentees per mentor id (mentors without any are left out)."""
    ids = set(mentor_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Mentorship.mentor_id, func.count())
        .where(Mentorship.mentor_id.in_(ids), Mentorship.active)
        .group_by(Mentorship.mentor_id)
    )
    return dict(rows.all())


def active_mentee_count(mentor: Mentor) -> int:
    """Number of the mentor's active mentees."""
    return active_mentee_counts([mentor.id]).get(mentor.id, 0)


def has_counter_helper(commune_id: int) -> bool:
    """Whether the commune has an active mentor helping at the public-service counter (the
    plan wants at least one per centre; the organiser's view says when there is none)."""
    stmt = select(Mentor.id).where(
        Mentor.commune_id == commune_id, Mentor.active, Mentor.counter_helper.is_(True)
    )
    return db.session.scalar(stmt.limit(1)) is not None


def mentors_of_village(village: Village) -> list[Mentor]:
    """Active mentors working in the village (by where they live when they have no village)."""
    stmt = (
        select(Mentor)
        .join(Person, Person.id == Mentor.person_id)
        .where(
            Mentor.active,
            or_(
                Mentor.village_id == village.id,
                Mentor.village_id.is_(None) & (Person.village_id == village.id),
            ),
        )
        .options(selectinload(Mentor.person))
        .order_by(Person.sort_key, Mentor.id)
    )
    return list(db.session.scalars(stmt))


def mentorships_of_mentor(user: User, mentor: Mentor) -> list[Mentorship]:
    """The mentor's mentorships (active and ended) whose mentee the user may see, each with
    its mentee, their household and village loaded; in Vietnamese name order."""
    stmt = (
        scope_mentorships(select(Mentorship), user)
        .join(Person, Person.id == Mentorship.person_id)
        .where(Mentorship.mentor_id == mentor.id)
        .options(
            selectinload(Mentorship.person).selectinload(Person.household),
            selectinload(Mentorship.person).selectinload(Person.village),
        )
        .order_by(Person.sort_key, Person.id, Mentorship.started_at)
    )
    return list(db.session.scalars(stmt))


def active_mentorships_of(person_ids: Iterable[int]) -> dict[int, Mentorship]:
    """The active mentorship of each person who has one, by person id, with its mentor's
    person loaded (one statement for the ids)."""
    ids = set(person_ids)
    if not ids:
        return {}
    stmt = (
        select(Mentorship)
        .where(Mentorship.person_id.in_(ids), Mentorship.active)
        .options(selectinload(Mentorship.mentor).selectinload(Mentor.person))
    )
    return {m.person_id: m for m in db.session.scalars(stmt)}


def mentor_logins(commune_id: int) -> list[User]:
    """The active log-ins of role mentor of the commune, the ones a mentor may be linked to
    (``services.link_account`` still refuses one linked to another mentor)."""
    stmt = select(User).where(
        User.role == Role.MENTOR,
        User.active.is_(True),
        User.commune_id == commune_id,
        User.province_wide.is_(False),
    )
    return list(db.session.scalars(stmt.order_by(User.username)))
