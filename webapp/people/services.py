"""People rules: creating and editing persons and households within the user's scope."""

from dataclasses import dataclass, fields
from datetime import date, datetime

from flask import current_app
from sqlalchemy import select

from webapp.accounts.models import User
from webapp.errors import DomainError
from webapp.extensions import db
from webapp.i18n import lazy_text as _l
from webapp.people import audit, consent
from webapp.people.models import DisabilityType, Household, Person, Sex, TargetGroup, Village
from webapp.people.names import require_full_name
from webapp.people.privacy_models import ConsentMethod
from webapp.permissions import MANAGERS, Role
from webapp.phone import normalise_phone, phone_or_none
from webapp.text import clean, name_key

EARLIEST_BIRTH_YEAR = 1900
EDITORS = MANAGERS | {Role.VILLAGE_LEAD}


@dataclass
class PersonInput:
    """What a form or an import row says about a person (already NFC-normalised)."""

    full_name: str
    birth_year: int
    village_id: int
    target_group: str
    household_code: str = ""
    sex: str | None = None
    phone: str = ""
    disability: str | None = None
    trader_farmer: bool = False
    ethnic_minority: bool = False
    vneid_level2: bool = False
    vneid_level2_on: date | None = None
    digital_signature: bool = False
    digital_signature_on: date | None = None
    consent_on: date | None = None
    note: str = ""


# --- small checks, shared with the importer -------------------------------------------------


def birth_year_problem(year: int | None, *, now: datetime):
    """A message when the birth year is missing or impossible, else None."""
    if year is None:
        return _l("Birth year is missing.")
    if not EARLIEST_BIRTH_YEAR <= year <= now.year:
        return _l("Birth year %(year)s is impossible.", year=year)
    return None


def phone_problem(phone: str):
    """A message when the text is not a Vietnamese phone number (see webapp/phone.py), else
    None. Store :func:`normalise_phone`'s form of a number that passes."""
    if phone_or_none(phone) is None:
        return _l("The phone number should have 10 digits.")
    return None


def find_duplicate(full_name: str, birth_year: int, village_id: int, *, exclude_id=None):
    """An existing person with the same name, birth year and village, if any."""
    stmt = select(Person).where(
        Person.village_id == village_id,
        Person.birth_year == birth_year,
        Person.name_key == name_key(full_name),
    )
    if exclude_id is not None:
        stmt = stmt.where(Person.id != exclude_id)
    return db.session.scalars(stmt).first()


# --- scope --------------------------------------------------------------------------------


def _editable_village(actor: User, village_id: int) -> Village:
    village = db.session.get(Village, village_id)
    in_scope = village is not None and (
        (actor.village_id is not None and village.id == actor.village_id)
        or (actor.village_id is None and actor.works_in(village.commune_id))
    )
    if actor.role not in EDITORS or not in_scope:
        raise DomainError(
            "village_not_allowed", _l("You may not add or edit people in this village."), status=403
        )
    return village


def _household(village: Village, code: str) -> Household | None:
    """The household with this code in the commune, created in ``village`` if new."""
    code = clean(code)
    if not code:
        return None
    household = db.session.scalar(
        select(Household).where(Household.commune_id == village.commune_id, Household.code == code)
    )
    if household is None:
        household = Household(
            commune_id=village.commune_id, village_id=village.id, code=code, address=""
        )
        db.session.add(household)
    elif household.village_id != village.id:
        raise DomainError(
            "household_other_village",
            _l("Household %(code)s belongs to another village."),
            code=code,
        )
    return household


def _validate(data: PersonInput, *, now: datetime) -> None:
    require_full_name(data.full_name)
    for code, problem in (
        ("birth_year_invalid", birth_year_problem(data.birth_year, now=now)),
        ("phone_invalid", phone_problem(data.phone)),
    ):
        if problem:
            raise DomainError(code, problem)
    if data.target_group not in set(TargetGroup):
        raise DomainError("group_invalid", _l("Choose a target group."))
    if data.sex not in (None, *Sex):
        raise DomainError("sex_invalid", _l("Unknown value for sex."))
    if data.disability not in (None, *DisabilityType):
        raise DomainError("disability_invalid", _l("Unknown disability type."))
    for on in (data.vneid_level2_on, data.digital_signature_on, data.consent_on):
        if on is not None and on > now.date():
            raise DomainError("date_in_future", _l("A date cannot be in the future."))


def _apply(person: Person, data: PersonInput, village: Village, actor: User) -> None:
    person.set_name(data.full_name)
    person.commune_id = village.commune_id
    person.village_id = village.id
    person.household = _household(village, data.household_code)
    person.phone = normalise_phone(data.phone) or None
    for name in (
        "birth_year",
        "target_group",
        "sex",
        "disability",
        "trader_farmer",
        "ethnic_minority",
        "vneid_level2",
        "digital_signature",
    ):
        setattr(person, name, getattr(data, name))
    person.note = data.note or ""
    person.vneid_level2_on = data.vneid_level2_on if data.vneid_level2 else None
    person.digital_signature_on = data.digital_signature_on if data.digital_signature else None
    if data.consent_on != person.consent_on:
        person.consent_on = data.consent_on
        person.consent_recorded_by_id = actor.id if data.consent_on else None
    person.refresh_search_text()


def create_person(
    *, actor: User, now: datetime, data: PersonInput, allow_duplicate=False, address: str = ""
) -> Person:
    """Register a person; refuses a likely duplicate unless ``allow_duplicate``. Audited (a
    change, from the client ``address``)."""
    village = _editable_village(actor, data.village_id)
    _validate(data, now=now)
    if not allow_duplicate and find_duplicate(data.full_name, data.birth_year, village.id):
        raise DomainError(
            "duplicate_person",
            _l("%(name)s, born %(year)s, is already registered in this village."),
            name=clean(data.full_name),
            year=data.birth_year,
        )
    person = Person(created_at=now, updated_at=now)
    _apply(person, data, village, actor)
    db.session.add(person)
    db.session.flush()
    # A date of consent typed on the form: staff recorded a consent given on paper.
    consent.record_dated(actor=actor, now=now, method=ConsentMethod.PAPER, person_ids=[person.id])
    audit.record(
        actor=actor,
        now=now,
        action=audit.AuditAction.CHANGE,
        what="people.create",
        person=person,
        address=address,
    )
    current_app.logger.info("person %s created by %s", person.id, actor.username)
    return person


def update_person(
    *, actor: User, now: datetime, person: Person, data: PersonInput, address: str = ""
) -> Person:
    """Change a person's record (both the old and the new village must be in scope). Audited
    (a change, from the client ``address``)."""
    _editable_village(actor, person.village_id)
    village = _editable_village(actor, data.village_id)
    _validate(data, now=now)
    if find_duplicate(data.full_name, data.birth_year, village.id, exclude_id=person.id):
        raise DomainError(
            "duplicate_person",
            _l("%(name)s, born %(year)s, is already registered in this village."),
            name=clean(data.full_name),
            year=data.birth_year,
        )
    _apply(person, data, village, actor)
    person.updated_at = now
    db.session.flush()
    consent.record_dated(actor=actor, now=now, method=ConsentMethod.PAPER, person_ids=[person.id])
    audit.record(
        actor=actor,
        now=now,
        action=audit.AuditAction.CHANGE,
        what="people.edit",
        person=person,
        address=address,
    )
    current_app.logger.info("person %s updated by %s", person.id, actor.username)
    return person


def input_from(person: Person) -> PersonInput:
    """The current record as a PersonInput (to prefill the edit form)."""
    values = {f.name: getattr(person, f.name, None) for f in fields(PersonInput)}
    values["household_code"] = person.household.code if person.household else ""
    values["phone"] = person.phone or ""
    return PersonInput(**values)


def update_household(
    *,
    actor: User,
    now: datetime,
    household: Household,
    address: str,
    is_poor: bool,
    client_address: str = "",
) -> Household:
    """Change a household's address and whether it is a poor household (hộ nghèo).

    Every member's "poor household" segment follows from this flag: audited as a change of
    each member (from ``client_address``).
    """
    _editable_village(actor, household.village_id)
    address = clean(address)
    if len(address) > 200:
        raise DomainError(
            "address_too_long", _l("The address is too long (at most 200 characters).")
        )
    household.address = address
    household.is_poor = is_poor
    db.session.flush()
    audit.record_many(
        actor=actor,
        now=now,
        action=audit.AuditAction.CHANGE,
        what="people.household_edit",
        people=household.members,
        address=client_address,
    )
    current_app.logger.info("household %s updated by %s at %s", household.id, actor.username, now)
    return household
