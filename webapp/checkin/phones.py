"""Who is checking in, and the phones that remember them.

A learner says who they are on their own phone, once: a phone number with the birth year, or
the learner code of their card. :func:`parse_identity` reads what they typed; the people with
these details are found with the check-in point (:meth:`Identity.joined`, read by
:func:`webapp.checkin.services.resolve_token`) or on their own (:func:`find_people`); and
:func:`choose_person` chooses the one member of the occasion among them, or refuses with the
one answer that names nobody. Staff find a person by the code on their card
(:func:`person_by_learner_code`).

A phone that checked someone in is remembered (:func:`remember`): its cookie holds a random
key, and the key's links to people live here, so that the trainer confirms a link
(:func:`confirm_link`) or undoes it, and staff revoke it. The rule of attendance itself is
:mod:`webapp.checkin.services`.
"""

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import Row, Select, Subquery, and_, bindparam, func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.util import identity_key

from webapp import ratelimit
from webapp.accounts.models import User
from webapp.checkin.models import Attendance, Device, LinkMethod, Status
from webapp.checkin.occasions import Occasion, at_occasion
from webapp.checkin.services import (
    CODE_LENGTH,
    Attendee,
    correct,
    normalise_code,
    random_code,
    record_to_change,
    refuse,
    require_runner,
)
from webapp.extensions import db, savepoint
from webapp.people.models import Person
from webapp.phone import phone_or_none
from webapp.timeutil import UTCDateTime

log = logging.getLogger("webapp.checkin")


# --- who is this? learners identify themselves -----------------------------------------------


#: A learner's phone needs no more of the person than these (a row, in SQLAlchemy Core: no
#: ORM object is loaded): what :func:`~webapp.checkin.services.check_in`, :func:`remember` and
#: :func:`~webapp.checkin.services.request_join` use.
_PEOPLE = Person.__table__
_PERSON_COLUMNS = (_PEOPLE.c.id, _PEOPLE.c.full_name, _PEOPLE.c.commune_id)
#: How a learner says who they are: a phone number (in its canonical form, and, until every
#: stored number is canonical, the two older forms: 84… from a +84 list, and the zero lost by
#: a spreadsheet) with the birth year; or the learner code. Fixed parameters, so the SQL is
#: built once. The commune is chosen among the people found, so that the query needs nothing
#: of the occasion and can be read with its check-in point (which adds whether each person
#: found is a member of the occasion: see ``Occasion.at_point``).
_IDENTIFY_WHERE = {
    "phone": (
        or_(
            _PEOPLE.c.phone == bindparam("phone"),
            _PEOPLE.c.phone == bindparam("phone_84"),
            _PEOPLE.c.phone == bindparam("phone_9"),
        ),
        _PEOPLE.c.birth_year == bindparam("birth_year"),
    ),
    "code": (_PEOPLE.c.learner_code == bindparam("learner_code"),),
}
_PEOPLE_ALONE: dict[tuple[int, str], Select] = {}
_IDENTITY_SUBQUERIES: dict[tuple[int, str], Subquery] = {}

#: The one answer to every refused identification on a learner's phone: nobody has these
#: details, someone has them but is not in this class, several people have them, or check-in
#: is not open. It names nobody and says nothing of anybody's enrolment.
NOT_IDENTIFIED = _l(
    "We could not check you in with these details. Please check them, or ask the trainer: "
    "they can mark you on the class list."
)


def _identity_subquery(n: int, by: str = "phone") -> Subquery:
    """The people with a phone number and birth year (or a learner code), with a guard's
    ``n`` counts: one row of counts joined to the people found (none: one row, its person
    columns NULL); columns ``identity_c0``..., ``identity_id``, ``identity_full_name``,
    ``identity_commune_id``."""
    subquery = _IDENTITY_SUBQUERIES.get((n, by))
    if subquery is None:
        where = _IDENTIFY_WHERE[by]
        if n:
            counts = ratelimit.counts_row(n).subquery("guard")
            found = select(counts, *_PERSON_COLUMNS).select_from(
                counts.outerjoin(_PEOPLE, and_(*where))
            )
        else:
            found = select(*_PERSON_COLUMNS).where(*where)
        inner = found.subquery("identity_found")
        subquery = _IDENTITY_SUBQUERIES[n, by] = select(
            *(column.label("identity_" + column.name) for column in inner.c)
        ).subquery("identity")
    return subquery


def _people_alone(n: int, by: str) -> Select:
    """:func:`_identity_subquery` on its own (without a check-in point)."""
    stmt = _PEOPLE_ALONE.get((n, by))
    if stmt is None:
        stmt = _PEOPLE_ALONE[n, by] = select(*_identity_subquery(n, by).c)
    return stmt


@dataclass
class Identity:
    """Who a learner says they are (``by`` "phone": number and birth year; "code": learner
    code), with the guard to check before anything is answered. The people with these
    details are read with the check-in point (:meth:`joined`) or on their own
    (:func:`find_people`)."""

    by: str
    values: dict
    guard: ratelimit.Guard | None = None

    @property
    def _n(self) -> int:
        return len(self.guard.events) if self.guard is not None else 0

    def params(self) -> dict:
        params = dict(self.values)
        if self.guard is not None:
            params.update(self.guard.params())
        return params

    def joined(self) -> tuple[str, Subquery, dict]:
        """What :meth:`Occasion.at_point` reads with the check-in point: the people with these
        details, and the guard's counts."""
        return f"identity{self._n}{self.by}", _identity_subquery(self._n, self.by), self.params()


def parse_identity(
    phone: str | None,
    birth_year: int | None,
    guard: ratelimit.Guard | None = None,
    *,
    learner_code: str | None = None,
) -> Identity | None:
    """The identity a learner gave (the learner code when given), or None when it cannot be
    anybody's: a number that is not a Vietnamese phone number, no year, a code of the wrong
    length."""
    if learner_code:
        code = normalise_code(learner_code)
        return Identity("code", {"learner_code": code}, guard) if len(code) == CODE_LENGTH else None
    canonical = phone_or_none(phone)
    if not canonical or not birth_year:
        return None
    tail = canonical[1:]
    values = {"phone": canonical, "phone_84": "84" + tail, "phone_9": tail}
    return Identity("phone", {**values, "birth_year": birth_year}, guard)


def find_people(identity: Identity) -> list[Row]:
    """The people with these details, on their own (not with a check-in point), and the
    guard's counts, in one query: rows as :meth:`Identity.joined` reads with the point."""
    db.session.flush()  # a Core statement does not flush pending changes itself
    stmt = _people_alone(identity._n, identity.by)
    return db.session.connection().execute(stmt, identity.params()).all()


def find_person(
    *, commune_id: int, phone: str, birth_year: int | None, guard: ratelimit.Guard | None = None
) -> "LinkedPerson":
    """The one person of the commune with this phone number and birth year (parsed, found and
    chosen: :func:`parse_identity`, :func:`find_people`, :func:`choose_person`): their ``id``,
    ``full_name`` and ``commune_id``.

    ``guard``: checked before anything is answered (its counts are read with the people, in
    the same query).
    """
    identity = parse_identity(phone, birth_year, guard)
    if identity is None:
        if guard is not None:
            guard.check_now()
        refuse("identity_incomplete", _l("Please give your phone number and your year of birth."))
    return choose_person(identity, find_people(identity), commune_id=commune_id)


def _candidates(
    identity: Identity, rows: Sequence[Row], commune_id: int
) -> list[tuple["LinkedPerson", bool]]:
    """The people of the commune among ``rows`` (the guard checked first: a guard's counts
    come in one row at least), each with whether they are a member of the occasion (read with
    its check-in point; True when read on their own)."""
    found = [row._mapping for row in rows]
    if identity.guard is not None:
        identity.guard.check([found[0][f"identity_c{i}"] for i in range(identity._n)])
    return [
        (
            LinkedPerson(row["identity_id"], row["identity_full_name"], row["identity_commune_id"]),
            bool(row.get("identity_member", True)),
        )
        for row in found
        if row["identity_id"] is not None and row["identity_commune_id"] == commune_id
    ]


def refuse_identity(occasion: Occasion | None = None) -> None:
    """Refuse an identification with the one answer that tells nothing (see NOT_IDENTIFIED)."""
    refuse("not_identified", NOT_IDENTIFIED, occasion=occasion, status=400)


def choose_person(identity: Identity, rows: Sequence[Row], *, commune_id: int) -> "LinkedPerson":
    """The person of an identity among the rows read for it (with the check-in point, or by
    :func:`find_people`): the guard is checked first, then exactly one person of the commune
    with these details must be a member of the occasion: their ``id``, ``full_name`` and
    ``commune_id``. Anything else is the one refusal that names nobody."""
    members = [person for person, member in _candidates(identity, rows, commune_id) if member]
    if len(members) != 1:
        refuse_identity()
    return members[0]


def join_candidate(
    identity: Identity, rows: Sequence[Row], *, commune_id: int
) -> "LinkedPerson | None":
    """The one person of the commune with these details among the rows read for them, when
    they are not a member of the occasion (who may ask to join); None otherwise (the guard is
    checked first)."""
    people = _candidates(identity, rows, commune_id)
    return people[0][0] if len(people) == 1 and not people[0][1] else None


def person_by_learner_code(code: str, *, commune_id: int | None = None) -> Person:
    """The person with this learner code (typed, or read from their card), in the commune
    when one is given."""
    code = normalise_code(code)
    person = db.session.scalar(select(Person).where(Person.learner_code == code)) if code else None
    if person is None or (commune_id is not None and person.commune_id != commune_id):
        refuse("unknown_learner_code", _l("This learner code is not known. Please check it."))
    return person


def ensure_learner_codes(people) -> None:
    """Give every one of ``people`` a learner code (cards, roster and sign-in sheet show it)."""
    missing = [p for p in people if not p.learner_code]
    if not missing:
        return
    taken = set()
    for person in missing:
        while True:
            code = random_code()
            if code not in taken:
                break
        taken.add(code)
        person.learner_code = code
    try:
        with savepoint():
            db.session.flush()
    except IntegrityError:  # pragma: no cover - 25^6 codes; a clash is rare, try again
        for person in missing:
            person.learner_code = None
        ensure_learner_codes(missing)


# --- remembered phones ---------------------------------------------------------------------


def new_device_key() -> str:
    """A new phone's key (its cookie holds it, signed)."""
    return secrets.token_urlsafe(18)


#: Link a phone to a person, or renew the link, in one statement that races safely (the
#: unique key and person decide). A link revoked (undone by staff, forgotten by the learner)
#: and made again is a new link: how, where and when are its new ones, and it waits for
#: confirmation again. (Every SET reads the row as it was.)
_AGAIN = "CASE WHEN checkin_devices.revoked_at IS NULL THEN checkin_devices.{0} ELSE {1} END"
_REMEMBER = text(
    'INSERT INTO checkin_devices ("key", person_id, created_at, last_used_at, user_agent,'
    " method, occasion_kind, occasion_id) VALUES (:key, :person_id, :now, :now, :user_agent,"
    " :method, :occasion_kind, :occasion_id)"
    ' ON CONFLICT ("key", person_id) DO UPDATE SET last_used_at = excluded.last_used_at, '
    + ", ".join(
        f"{column} = " + _AGAIN.format(column, new)
        for column, new in (
            ("created_at", "excluded.created_at"),
            ("method", "excluded.method"),
            ("occasion_kind", "excluded.occasion_kind"),
            ("occasion_id", "excluded.occasion_id"),
            ("confirmed_at", "NULL"),
            ("confirmed_by_id", "NULL"),
        )
    )
    + ", revoked_at = NULL, revoked_by_id = NULL RETURNING id"
).bindparams(bindparam("now", type_=UTCDateTime))


def remember(
    *,
    key: str,
    person: Attendee,
    now: datetime,
    user_agent: str = "",
    method: LinkMethod = LinkMethod.PHONE,
    occasion: Occasion | None = None,
) -> int:
    """Link this phone to the person (a family phone may hold several people); the link's id.

    Only a successful check-in on the phone links it (``occasion``: where; ``method``: how
    the learner said who they are): the occasion's trainer then confirms or undoes it."""
    db.session.flush()  # a text statement does not flush pending changes itself
    values = {
        "key": key,
        "person_id": person.id,
        "now": now,
        "user_agent": user_agent[:200],
        "method": LinkMethod(method).value,
        "occasion_kind": occasion.kind if occasion is not None else None,
        "occasion_id": occasion.id if occasion is not None else None,
    }
    device_id = db.session.connection().execute(_REMEMBER, values).scalar_one()
    loaded = db.session.identity_map.get(identity_key(Device, device_id))
    if loaded is not None:  # this session holds the link: it must not keep stale values
        db.session.expire(loaded)
    return device_id


def device_people(key: str | None) -> list[Person]:
    """The people this phone checks in for (revoked links left out)."""
    if not key:
        return []
    return list(
        db.session.scalars(
            select(Person)
            .join(Device, Device.person_id == Person.id)
            .where(Device.key == key, Device.revoked_at.is_(None))
            .order_by(Device.created_at)
        )
    )


_DEVICES = Device.__table__
_DEVICE_PERSON = (
    select(*_PERSON_COLUMNS)
    .join(_DEVICES, _DEVICES.c.person_id == _PEOPLE.c.id)
    .where(
        _DEVICES.c.key == bindparam("key"),
        _DEVICES.c.person_id == bindparam("person_id"),
        _DEVICES.c.revoked_at.is_(None),
    )
)


#: :data:`_DEVICE_PERSON` as a subquery, its columns prefixed ``linked_``.
_LINKED = (
    select(*(column.label("linked_" + column.name) for column in _PERSON_COLUMNS))
    .select_from(_PEOPLE.join(_DEVICES, _DEVICES.c.person_id == _PEOPLE.c.id))
    .where(*_DEVICE_PERSON.whereclause.clauses)
    .subquery("linked")
)


class LinkedPerson(NamedTuple):
    """The few columns of a person a learner's phone needs (see :data:`_PERSON_COLUMNS`)."""

    id: int
    full_name: str
    commune_id: int


def linked_join(key: str | None, person_id: int | None) -> tuple[str, Subquery, dict] | None:
    """What a one-tap check-in reads with the check-in point (see :meth:`Occasion.at_point`):
    the person, when this phone checks in for them (see :func:`linked_person`); None without
    a key or a person."""
    if not key or person_id is None:
        return None
    return "linked", _LINKED, {"key": key, "person_id": person_id}


def linked_person(point: Row) -> LinkedPerson | None:
    """The person read with a check-in point (see :func:`linked_join`), when the phone checks
    in for them (None otherwise, or when revoked): as :func:`device_person`."""
    values = point._mapping
    if values.get("linked_id") is None:
        return None
    return LinkedPerson(
        values["linked_id"], values["linked_full_name"], values["linked_commune_id"]
    )


def device_person(key: str | None, person_id: int | None) -> Row | None:
    """The person, when this phone checks in for them (None otherwise, or when revoked): a row
    of ``id``, ``full_name`` and ``commune_id`` (as :func:`choose_person`)."""
    if not key or person_id is None:
        return None
    db.session.flush()  # a Core statement does not flush pending changes itself
    found = db.session.connection().execute(_DEVICE_PERSON, {"key": key, "person_id": person_id})
    return found.first()


def forget(*, key: str, person_id: int, now: datetime) -> None:
    """The learner unlinks this phone from a person."""
    for device in db.session.scalars(
        select(Device).where(Device.key == key, Device.person_id == person_id)
    ):
        device.revoked_at = now


def revoke(device: Device, *, actor: User, now: datetime) -> None:
    """Staff stop a remembered phone from checking in for the person."""
    device.revoked_at, device.revoked_by_id = now, actor.id


def new_links(occasion: Occasion) -> list[Device]:
    """Phones linked by a check-in at this occasion that staff have neither confirmed nor
    undone, oldest first (the trainer's live page lists them)."""
    stmt = select(Device).where(
        at_occasion(Device, occasion), Device.confirmed_at.is_(None), Device.revoked_at.is_(None)
    )
    # The live page names each person with their birth year and village.
    stmt = stmt.options(joinedload(Device.person).selectinload(Person.village))
    stmt = stmt.order_by(Device.created_at, Device.id)
    return list(db.session.scalars(stmt))


def _refuse_revoked(device: Device, occasion: Occasion | None) -> None:
    if device.revoked_at is not None:
        refuse(
            "link_revoked",
            _l("This phone no longer checks in for the person."),
            occasion=occasion,
            person_id=device.person_id,
            status=409,
        )


def confirm_link(
    device: Device, *, actor: User, now: datetime, occasion: Occasion | None = None
) -> None:
    """Staff confirm that a phone is the person's own: its quiz passes count from now on,
    those passed before included. ``occasion``: confirmed from its live page (whose runners
    may); otherwise the caller has checked that the actor may manage the person."""
    if occasion is not None:
        require_runner(actor, occasion)
    _refuse_revoked(device, occasion)
    if device.confirmed_at is None:
        device.confirmed_at, device.confirmed_by_id = now, actor.id
        log.info(
            "phone link %s of person %s confirmed by %s",
            device.id,
            device.person_id,
            actor.username,
        )


def undo_link(
    device: Device,
    *,
    actor: User,
    now: datetime,
    occasion: Occasion,
    mark_absent: bool = False,
    reason: str = "",
) -> None:
    """Staff undo a phone's link made at ``occasion`` (not the person's phone): the phone no
    longer checks in for them and its unconfirmed quiz passes never count. With
    ``mark_absent``, the person's record here is corrected to absent, with the reason
    (required, as for any correction)."""
    require_runner(actor, occasion)
    _refuse_revoked(device, occasion)
    if mark_absent:
        record = record_to_change(occasion, device.person_id)
        if record is not None:
            correct(record, Status.ABSENT, actor=actor, now=now, reason=reason)
    revoke(device, actor=actor, now=now)
    log.info("phone link %s of person %s undone by %s", device.id, device.person_id, actor.username)


def devices_of(person: Person) -> list[Device]:
    """Every phone linked to the person, the latest first (revoked ones too)."""
    return list(
        db.session.scalars(
            select(Device).where(Device.person_id == person.id).order_by(Device.created_at.desc())
        )
    )


def shared_devices(occasion: Occasion) -> dict[str, list[int]]:
    """Phones that checked in more than one person here: device key -> person ids."""
    here = at_occasion(Attendance, occasion)
    several = (
        select(Attendance.device_key)
        .where(here, Attendance.device_key.is_not(None))
        .group_by(Attendance.device_key)
        .having(func.count() > 1)
    )
    rows = db.session.execute(
        select(Attendance.device_key, Attendance.person_id).where(
            here, Attendance.device_key.in_(several)
        )
    )
    shared: dict[str, list[int]] = {}
    for key, person_id in rows:
        shared.setdefault(key, []).append(person_id)
    return shared


# --- what a phone's people are asked on their page ------------------------------------------


@dataclass(frozen=True)
class Prompt:
    """A question for one of a phone's people, answered with one tap: a button posting
    ``person_id`` to ``action`` (e.g. a mentee confirming their mentor's visit)."""

    person_id: int
    text: str
    action: str
    button: str


#: Functions ``(person_ids, now) -> list[Prompt]`` another domain registers (mentoring asks
#: mentees to confirm meetings), so that the learner's phone page shows them without this
#: package knowing that domain.
PROMPTS: list = []


def prompts_for(person_ids: Sequence[int], *, now: datetime) -> dict[int, list[Prompt]]:
    """The prompts for each of these people (one query per registered function at most)."""
    found: dict[int, list[Prompt]] = {pid: [] for pid in person_ids}
    if person_ids:
        for ask in PROMPTS:
            for prompt in ask(list(person_ids), now):
                found.setdefault(prompt.person_id, []).append(prompt)
    return found
