"""Read-side queries for people, always scoped to what the user may see."""

from datetime import datetime

from sqlalchemy import Select, false, or_, select
from sqlalchemy.orm import selectinload

from webapp.accounts.models import User
from webapp.extensions import db
from webapp.people.models import (
    OLDER_PERSON_AGE,
    Commune,
    Household,
    ImportBatch,
    Person,
    Segment,
    Village,
)
from webapp.permissions import Role
from webapp.phone import phone_or_none
from webapp.text import digits, fold


def communes_for(user: User) -> list[Commune]:
    """Communes the user works in (every commune for province-wide users)."""
    stmt = select(Commune).order_by(Commune.name)
    if not user.province_wide:
        stmt = stmt.where(Commune.id == user.commune_id)
    return list(db.session.scalars(stmt))


def scope_villages(stmt: Select, user: User) -> Select:
    """Restrict a select over Village to those the user may see: a village lead's own, the
    commune's for others, every village for province-wide users."""
    if user.village_id is not None:
        return stmt.where(Village.id == user.village_id)
    if not user.province_wide:
        return stmt.where(Village.commune_id == user.commune_id)
    return stmt


def villages_for(user: User) -> list[Village]:
    """Villages the user may see (:func:`scope_villages`), by commune, position and name."""
    stmt = select(Village).join(Commune).order_by(Commune.name, Village.position, Village.name)
    return list(db.session.scalars(scope_villages(stmt, user)))


def get_village(user: User, village_id: int) -> Village | None:
    """The village, if the user may see it."""
    return db.session.scalar(scope_villages(select(Village), user).where(Village.id == village_id))


def scope_people(stmt: Select, user: User) -> Select:
    """Restrict a select over Person to the user's village or commune.

    Mentors are volunteers: they see nobody in the registry (until mentoring links them to
    their mentees). Keep :func:`sees_person` the same rule for people already loaded.
    """
    if user.role == Role.MENTOR:
        return stmt.where(false())
    if user.village_id is not None:
        return stmt.where(Person.village_id == user.village_id)
    if not user.province_wide:
        return stmt.where(Person.commune_id == user.commune_id)
    return stmt


def sees_person(user: User, person: Person) -> bool:
    """Whether ``scope_people`` lets the user see this person (for rows already loaded, e.g.
    the learners of a class, which may come from several villages)."""
    if user.role == Role.MENTOR:
        return False
    if user.village_id is not None:
        return person.village_id == user.village_id
    return user.works_in(person.commune_id)


def scope_households(stmt: Select, user: User) -> Select:
    """Restrict a select over Household to the user's village or commune (none for mentors)."""
    if user.role == Role.MENTOR:
        return stmt.where(false())
    if user.village_id is not None:
        return stmt.where(Household.village_id == user.village_id)
    if not user.province_wide:
        return stmt.where(Household.commune_id == user.commune_id)
    return stmt


def search_people(
    user: User,
    *,
    now: datetime,
    text: str = "",
    village_id: int | None = None,
    group: str | None = None,
    segment: str | None = None,
) -> Select:
    """People matching the search, in Vietnamese name order.

    Each word of ``text`` must appear in the name (diacritics optional: 'nguyen thi'
    finds 'Nguyễn Thị') or, for digits, in the phone number. A phone number is found however
    it is typed ('+84 905 123 456', '0905.123.456', '905123456'): numbers are stored in the
    canonical form of :mod:`webapp.phone`.
    """
    stmt = scope_people(select(Person), user)
    whole = phone_or_none(text)
    words = [whole] if whole else fold(text).split()
    for word in words:
        number = digits(word)
        canonical = phone_or_none(word) if number else None
        if canonical:  # '84905123456', '0905.123.456': the stored number, or a part of one
            found = {number, canonical}
            stmt = stmt.where(
                or_(*(Person.search_text.contains(n, autoescape=True) for n in sorted(found)))
            )
        elif number and number == word:
            stmt = stmt.where(Person.search_text.contains(number, autoescape=True))
        else:
            stmt = stmt.where(Person.search_text.contains(word, autoescape=True))
    if village_id:
        stmt = stmt.where(Person.village_id == village_id)
    if group:
        stmt = stmt.where(Person.target_group == group)
    if segment:
        stmt = stmt.where(segment_condition(segment, now.year))
    # Each row shows the village and the segments (poor household): load them with the page.
    return stmt.options(selectinload(Person.village), selectinload(Person.household)).order_by(
        Person.sort_key, Person.birth_year, Person.id
    )


def segment_condition(segment: str, year: int):
    """SQL condition for membership of a segment (older people by birth year)."""
    match segment:
        case Segment.OLDER:
            return Person.birth_year <= year - OLDER_PERSON_AGE
        case Segment.DISABILITY:
            return Person.disability.is_not(None)
        case Segment.TRADER_FARMER:
            return Person.trader_farmer.is_(True)
        case Segment.ETHNIC_MINORITY:
            return Person.ethnic_minority.is_(True)
        case Segment.POOR_HOUSEHOLD:
            return Person.household_id.in_(select(Household.id).where(Household.is_poor.is_(True)))
    raise ValueError(segment)


def get_person(user: User, person_id: int) -> Person | None:
    """The person, if the user may see them."""
    return db.session.scalar(scope_people(select(Person), user).where(Person.id == person_id))


def get_household(user: User, household_id: int) -> Household | None:
    """The household, if the user may see it."""
    return db.session.scalar(
        scope_households(select(Household), user).where(Household.id == household_id)
    )


def get_import_batch(user: User, token: str) -> ImportBatch | None:
    """The import batch, if it is of the user's commune(s)."""
    batch = db.session.scalar(select(ImportBatch).where(ImportBatch.token == token))
    return batch if batch is not None and user.works_in(batch.commune_id) else None
