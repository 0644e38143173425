"""The attendance rule, in one place (after pretix's ``perform_checkin``).

:func:`check_in` records that a person came to an occasion, once: a repeated scan returns the
existing record; a unique constraint backs that when two requests race. Every refusal raises a
:class:`CheckinError` with a stable code and is logged. Staff corrections keep who, when and
why. Functions take the acting user (or none, for a learner's own phone) and ``now``.
"""

import hashlib
import hmac
import logging
import secrets
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
from webapp.checkin.models import (
    ATTENDED,
    Attendance,
    AttendanceChange,
    CheckinPoint,
    Device,
    JoinRequest,
    JoinStatus,
    LinkMethod,
    Method,
    Status,
)
from webapp.checkin.occasions import KINDS, Occasion
from webapp.errors import DomainError
from webapp.extensions import db
from webapp.people.models import Person
from webapp.phone import phone_or_none
from webapp.text import nfc
from webapp.timeutil import UTCDateTime

log = logging.getLogger("webapp.checkin")

#: Characters of typed codes: no 0/O, 1/I/L, 2/Z, 5/S, 8/B, so they survive being read aloud
#: and typed on a small keyboard.
ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 6
STEP_SECONDS = 60  # rotating mode: a new QR and code every minute
STAFF_METHODS = frozenset({Method.ROSTER, Method.CARD, Method.CODE, Method.PAPER})
#: A learner's own phone: only inside the check-in window, no actor.
PHONE_METHODS = frozenset({Method.SELF_SCAN, Method.CODE_SELF})


class CheckinError(DomainError):
    pass


def _refuse(
    code: str,
    message,
    *,
    occasion: Occasion | None = None,
    person_id=None,
    status: int = 400,
    **params,
):
    where = f"{occasion.kind}:{occasion.id}" if occasion is not None else "-"
    log.info("check-in refused code=%s occasion=%s person=%s", code, where, person_id)
    raise CheckinError(code, message, status=status, **params)


def random_code(length: int = CODE_LENGTH) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalise_code(text: str) -> str:
    """What a person typed, as a code: capitals, no spaces or dashes; look-alikes mapped."""
    text = nfc(text or "").upper()
    text = "".join(ch for ch in text if ch.isalnum())
    return text.translate(str.maketrans({"0": "Q", "O": "Q", "1": "T", "I": "T", "L": "T"}))


# --- check-in points: QR token and typed code --------------------------------------------------


def point_for(occasion: Occasion, *, now: datetime) -> CheckinPoint:
    """The occasion's check-in point, made on first use (two processes racing make one)."""
    stmt = select(CheckinPoint).where(
        CheckinPoint.occasion_kind == occasion.kind, CheckinPoint.occasion_id == occasion.id
    )
    point = db.session.scalar(stmt)
    if point is not None:
        return point
    for _attempt in range(5):
        try:
            with db.session.begin_nested():
                point = CheckinPoint(
                    occasion_kind=occasion.kind,
                    occasion_id=occasion.id,
                    token=secrets.token_urlsafe(9),
                    code=random_code(),
                    secret=secrets.token_hex(16),
                    created_at=now,
                )
                db.session.add(point)
            return point
        except IntegrityError:
            point = db.session.scalar(stmt)
            if point is not None:  # the other process made it
                return point
    raise RuntimeError("could not make a unique check-in code")  # pragma: no cover


def set_rotating(occasion: Occasion, *, actor: User, now: datetime, rotating: bool) -> CheckinPoint:
    _require_runner(actor, occasion)
    point = point_for(occasion, now=now)
    point.rotating = rotating
    return point


def step_of(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def rotating_code(point: CheckinPoint, step: int) -> str:
    """The code of one step in rotating mode (six characters of an HMAC)."""
    digest = hmac.new(point.secret.encode(), f"{point.token}:{step}".encode(), hashlib.sha256)
    number = int.from_bytes(digest.digest()[:8], "big")
    chars = []
    for _ in range(CODE_LENGTH):
        number, index = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[index])
    return "".join(chars)


def current_code(point: CheckinPoint, now: datetime) -> str:
    """The code to show now: fixed, or this step's in rotating mode."""
    return rotating_code(point, step_of(now)) if point.rotating else point.code


def _rotating_code_valid(point: CheckinPoint, code: str, now: datetime) -> bool:
    step = step_of(now)
    return any(hmac.compare_digest(code, rotating_code(point, s)) for s in (step, step - 1))


def resolve_token(
    token: str,
    *,
    code: str | None,
    now: datetime,
    code_checked: bool = False,
    linked: tuple[str | None, int | None] | None = None,
    identity: "Identity | None" = None,
) -> tuple[Row, Occasion]:
    """The check-in point (a row of its columns: ``id``, ``token``, ``rotating``...) and the
    occasion of a scanned QR (``/c/<token>[/<code>]``), in one query for the learner's phone.

    ``code_checked``: the rotating code was valid when the learner opened the page (a signed
    ticket says so); typing a phone number may take longer than a step.

    ``linked``: ``(device key, person id)`` of a one-tap check-in: the person, when this phone
    checks in for them, is read in the same query (see :func:`linked_person`).

    ``identity``: a learner identifying with phone number and birth year: the people with
    them (and the guard's counts) are read in the same query too (see :func:`identified`).
    """
    joined = None
    if linked is not None and linked[0] and linked[1] is not None:
        joined = ("linked", _LINKED, {"key": linked[0], "person_id": linked[1]})
    elif identity is not None:
        joined = identity.joined()
    found = None
    for cls in KINDS.values():
        found = cls.at_point(token, joined=joined)
        if found is not None:
            break
    else:
        _refuse("unknown_token", _l("This check-in code is not known."), status=404)
    rows, occasion = found
    point = rows[0]
    if identity is not None:
        identity.rows = rows
    if (
        point.rotating
        and not code_checked
        and not (code and _rotating_code_valid(point, normalise_code(code), now))
    ):
        _refuse(
            "code_expired",
            _l("This code has changed. Scan the code on the screen again."),
            occasion=occasion,
        )
    return point, occasion


def resolve_code(code: str, *, now: datetime) -> tuple[CheckinPoint, str | None]:
    """The check-in point of a typed session code; with the rotating code to carry along."""
    code = normalise_code(code)
    if len(code) != CODE_LENGTH:
        _refuse("unknown_code", _l("The code has six letters and digits. Please check it."))
    point = db.session.scalar(
        select(CheckinPoint).where(CheckinPoint.code == code, CheckinPoint.rotating.is_(False))
    )
    if point is not None:
        return point, None
    for kind, cls in KINDS.items():
        candidates = db.session.scalars(
            select(CheckinPoint).where(
                CheckinPoint.occasion_kind == kind,
                CheckinPoint.rotating.is_(True),
                CheckinPoint.occasion_id.in_(cls.open_ids(now)),
            )
        )
        for candidate in candidates:
            if _rotating_code_valid(candidate, code, now):
                return candidate, code
    _refuse("unknown_code", _l("No class is checking in with this code now. Please check it."))


# --- the rule ------------------------------------------------------------------------------


class Result:
    """What :func:`check_in` did: the record, and whether it was made (False: the person had
    already checked in). A new record is loaded only when asked for (a learner's phone needs
    no more than its id)."""

    def __init__(self, record: Attendance | None, *, created: bool, record_id: int | None = None):
        self._record, self.created = record, created
        self.record_id = record.id if record is not None else record_id

    @property
    def record(self) -> Attendance:
        if self._record is None:
            self._record = db.session.get(Attendance, self.record_id)
        return self._record


def _require_runner(actor: User | None, occasion: Occasion) -> None:
    if actor is None or not occasion.can_run(actor):
        _refuse(
            "not_allowed",
            _l("Only this class's trainers or an organiser may do this."),
            occasion=occasion,
            status=403,
        )


#: Insert unless the person has a row (the same SQL on SQLite and PostgreSQL; the unique
#: constraint decides between racing requests). Text, so it is built once: the dialects'
#: ``insert().on_conflict_do_nothing()`` is compiled again on every call.
_INSERT = text(
    "INSERT INTO attendance (occasion_kind, occasion_id, person_id, status, method,"
    " recorded_at, recorded_by_id, device_key, updated_at) VALUES (:occasion_kind,"
    " :occasion_id, :person_id, :status, :method, :recorded_at, :recorded_by_id,"
    " :device_key, :updated_at)"
    " ON CONFLICT (occasion_kind, occasion_id, person_id) DO NOTHING RETURNING id"
).bindparams(
    bindparam("recorded_at", type_=UTCDateTime), bindparam("updated_at", type_=UTCDateTime)
)


def _insert(values: dict) -> int | None:
    """Insert one attendance row unless the person has one; the new row's id or None."""
    db.session.flush()  # a text statement does not flush pending changes itself
    return db.session.connection().execute(_INSERT, values).scalar()


def _record_of(occasion: Occasion, person_id: int, *, lock: bool = False) -> Attendance | None:
    stmt = select(Attendance).where(
        Attendance.occasion_kind == occasion.kind,
        Attendance.occasion_id == occasion.id,
        Attendance.person_id == person_id,
    )
    if lock:
        stmt = stmt.with_for_update()
    return db.session.scalar(stmt.execution_options(populate_existing=True))


def record_of(occasion: Occasion, person: Person) -> Attendance | None:
    return _record_of(occasion, person.id)


def check_in(
    occasion: Occasion,
    person: Person,
    *,
    method: Method,
    now: datetime,
    actor: User | None = None,
    device_key: str | None = None,
) -> Result:
    """Record that ``person`` is here, once. Present, or late after the grace time.

    A learner's own phone (``SELF_SCAN``, ``CODE_SELF``: no actor) works only inside the
    check-in window;
    staff methods need the actor to run the occasion and work from the window's opening on
    (a paper sheet is entered afterwards).
    """
    if method in STAFF_METHODS:
        _require_runner(actor, occasion)
    if occasion.cancelled:
        _refuse(
            "session_cancelled",
            _l("This session is cancelled."),
            occasion=occasion,
            person_id=person.id,
        )
    if now < occasion.opens_at:
        _refuse(
            "window_not_open",
            _l("Check-in has not opened yet. It opens at %(time)s."),
            occasion=occasion,
            person_id=person.id,
            time=_hhmm(occasion.opens_at),
        )
    if method in PHONE_METHODS and now > occasion.closes_at:
        _refuse(
            "window_closed",
            _l("Check-in for this session has closed."),
            occasion=occasion,
            person_id=person.id,
        )
    status = Status.LATE if now > occasion.late_from else Status.PRESENT
    # Members only: the occasion checks membership with the insert (one statement where it
    # can); only when no row was made is it asked why.
    new_id = occasion.insert_attendance(
        dict(
            occasion_kind=occasion.kind,
            occasion_id=occasion.id,
            person_id=person.id,
            status=status,
            method=method,
            recorded_at=now,
            recorded_by_id=actor.id if actor is not None else None,
            device_key=device_key,
            updated_at=now,
        ),
        _insert,
    )
    if new_id is not None:
        log.info(
            "checked in occasion=%s:%s person=%s method=%s",
            occasion.kind,
            occasion.id,
            person.id,
            method,
        )
        return Result(None, created=True, record_id=new_id)
    if not occasion.is_member(person.id):
        _refuse(
            "not_enrolled",
            _l("%(name)s is not enrolled in this class."),
            occasion=occasion,
            person_id=person.id,
            status=409,
            name=person.full_name,
        )
    record = _record_of(occasion, person.id, lock=True)
    if record.status not in ATTENDED:
        # Marked absent or excused earlier, and here after all.
        _change(record, status, actor=actor, now=now, method=method, reason="")
        record.recorded_at, record.device_key = now, device_key or record.device_key
        # The arrival is what the record now says: how and by whom (the absent mark stays in
        # the change history).
        record.method, record.recorded_by_id = method, actor.id if actor is not None else None
        return Result(record, created=True)
    return Result(record, created=False)


def set_status(
    occasion: Occasion,
    person: Person,
    status: Status,
    *,
    actor: User,
    now: datetime,
    method: Method = Method.ROSTER,
    reason: str = "",
) -> Attendance:
    """Staff record a status (roster, paper sheet); changing a recorded one is a correction."""
    _require_runner(actor, occasion)
    status = Status(status)
    if occasion.cancelled:
        _refuse(
            "session_cancelled",
            _l("This session is cancelled."),
            occasion=occasion,
            person_id=person.id,
        )
    if status in ATTENDED and now < occasion.opens_at:
        _refuse(
            "window_not_open",
            _l("Check-in has not opened yet. It opens at %(time)s."),
            occasion=occasion,
            person_id=person.id,
            time=_hhmm(occasion.opens_at),
        )
    if not occasion.is_member(person.id):
        _refuse(
            "not_enrolled",
            _l("%(name)s is not enrolled in this class."),
            occasion=occasion,
            person_id=person.id,
            status=409,
            name=person.full_name,
        )
    new_id = _insert(
        dict(
            occasion_kind=occasion.kind,
            occasion_id=occasion.id,
            person_id=person.id,
            status=status,
            method=method,
            recorded_at=now,
            recorded_by_id=actor.id,
            device_key=None,
            updated_at=now,
        )
    )
    if new_id is not None:
        return db.session.get(Attendance, new_id)
    record = _record_of(occasion, person.id, lock=True)
    if record.status != status:
        reason = nfc(reason or "").strip()
        made_here = record.method == method and record.recorded_by_id == actor.id
        if not reason and not made_here:
            # Overruling what the learner's phone, a card or a colleague recorded: say why.
            _refuse(
                "reason_missing",
                _l("Please say why the record is corrected."),
                occasion=occasion,
                person_id=person.id,
            )
        _change(record, status, actor=actor, now=now, method=method, reason=reason)
    return record


def correct(
    record: Attendance, status: Status, *, actor: User, now: datetime, reason: str
) -> Attendance:
    """A staff correction of a record, with a reason (kept with who and when)."""
    occasion = occasion_of(record)
    _require_runner(actor, occasion)
    reason = nfc(reason or "").strip()
    if not reason:
        _refuse(
            "reason_missing",
            _l("Please say why the record is corrected."),
            occasion=occasion,
            person_id=record.person_id,
        )
    status = Status(status)
    if status != record.status:
        _change(record, status, actor=actor, now=now, method=Method.ROSTER, reason=reason)
    return record


def _change(
    record: Attendance,
    status: Status,
    *,
    actor: User | None,
    now: datetime,
    method: Method,
    reason: str,
) -> None:
    db.session.add(
        AttendanceChange(
            attendance=record,
            changed_at=now,
            changed_by_id=actor.id if actor else None,
            old_status=record.status,
            new_status=status,
            method=method,
            reason=reason[:300],
        )
    )
    log.info(
        "attendance %s %s -> %s by %s",
        record.id,
        record.status,
        status,
        actor.username if actor else "learner",
    )
    record.status, record.updated_at = status, now


def occasion_of(record: Attendance | JoinRequest) -> Occasion:
    from webapp.checkin.occasions import load

    occasion = load(record.occasion_kind, record.occasion_id)
    if occasion is None:  # pragma: no cover - rows are never orphaned
        raise DomainError("unknown_occasion", _l("Page not found"), status=404)
    return occasion


def _hhmm(value: datetime) -> str:
    from webapp.timeutil import to_local

    return to_local(value).strftime("%H:%M")


# --- who is this? learners identify themselves -----------------------------------------------


#: A learner's phone needs no more of the person than these (a row, in SQLAlchemy Core: no
#: ORM object is loaded): what :func:`check_in`, :func:`remember` and :func:`request_join` use.
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
_IDENTIFY: dict[tuple[int, str], Select] = {}
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


def _identify_alone(n: int, by: str) -> Select:
    """:func:`_identity_subquery` on its own (without a check-in point)."""
    stmt = _IDENTIFY.get((n, by))
    if stmt is None:
        stmt = _IDENTIFY[n, by] = select(*_identity_subquery(n, by).c)
    return stmt


@dataclass
class Identity:
    """Who a learner says they are (``by`` "phone": number and birth year; "code": learner
    code), with the guard to check before anything is answered. The people found are read
    with the check-in point (``rows``, filled in by :func:`resolve_token`) or on their own
    (:func:`identify`)."""

    by: str
    values: dict
    guard: ratelimit.Guard | None = None
    rows: list | None = None

    @property
    def _n(self) -> int:
        return len(self.guard.events) if self.guard is not None else 0

    def params(self) -> dict:
        params = dict(self.values)
        if self.guard is not None:
            params.update(self.guard.params())
        return params

    def joined(self) -> tuple[str, Subquery, dict]:
        """What :meth:`Occasion.at_point` reads with the check-in point."""
        return f"identity{self._n}{self.by}", _identity_subquery(self._n, self.by), self.params()


def identity_of(
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


def identify(
    *, commune_id: int, phone: str, birth_year: int | None, guard: ratelimit.Guard | None = None
) -> "LinkedPerson":
    """The person with this phone number and birth year (in the occasion's commune): their
    ``id``, ``full_name`` and ``commune_id``.

    ``guard``: checked before anything is answered (its counts are read with the people, in
    the same query).
    """
    identity = identity_of(phone, birth_year, guard)
    if identity is None:
        if guard is not None:
            guard.check_now()
        _refuse("identity_incomplete", _l("Please give your phone number and your year of birth."))
    db.session.flush()  # a Core statement does not flush pending changes itself
    stmt = _identify_alone(identity._n, identity.by)
    identity.rows = db.session.connection().execute(stmt, identity.params()).all()
    return identified(identity, commune_id=commune_id)


def _candidates(identity: Identity, commune_id: int) -> list[tuple["LinkedPerson", bool]]:
    """The people of the commune found (the guard checked first: a guard's counts come in
    one row at least), each with whether they are a member of the occasion (read with its
    check-in point; True when read on their own)."""
    rows = [row._mapping for row in identity.rows]
    if identity.guard is not None:
        identity.guard.check([rows[0][f"identity_c{i}"] for i in range(identity._n)])
    return [
        (
            LinkedPerson(row["identity_id"], row["identity_full_name"], row["identity_commune_id"]),
            bool(row.get("identity_member", True)),
        )
        for row in rows
        if row["identity_id"] is not None and row["identity_commune_id"] == commune_id
    ]


def refuse_identity(occasion: Occasion | None = None) -> None:
    """Refuse an identification with the one answer that tells nothing (see NOT_IDENTIFIED)."""
    _refuse("not_identified", NOT_IDENTIFIED, occasion=occasion, status=400)


def identified(identity: Identity, *, commune_id: int) -> "LinkedPerson":
    """The person of an identity whose rows were read (by :func:`resolve_token` or
    :func:`identify`): the guard is checked first, then exactly one person of the commune
    with these details must be a member of the occasion: their ``id``, ``full_name`` and
    ``commune_id``. Anything else is the one refusal that names nobody."""
    members = [person for person, member in _candidates(identity, commune_id) if member]
    if len(members) != 1:
        refuse_identity()
    return members[0]


def join_candidate(identity: Identity, *, commune_id: int) -> "LinkedPerson | None":
    """The one person of the commune with these details, when they are not a member of the
    occasion (who may ask to join); None otherwise (the guard is checked first)."""
    people = _candidates(identity, commune_id)
    return people[0][0] if len(people) == 1 and not people[0][1] else None


def person_by_learner_code(code: str, *, commune_id: int | None = None) -> Person:
    code = normalise_code(code)
    person = db.session.scalar(select(Person).where(Person.learner_code == code)) if code else None
    if person is None or (commune_id is not None and person.commune_id != commune_id):
        _refuse("unknown_learner_code", _l("This learner code is not known. Please check it."))
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
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # pragma: no cover - 25^6 codes; a clash is rare, try again
        for person in missing:
            person.learner_code = None
        ensure_learner_codes(missing)


# --- remembered phones ---------------------------------------------------------------------


def new_device_key() -> str:
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
    person: Person,
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


def linked_person(point: Row) -> LinkedPerson | None:
    """The person of a point resolved with ``linked`` (see :func:`resolve_token`), when the
    phone checks in for them (None otherwise, or when revoked): as :func:`device_person`."""
    values = point._mapping
    if values.get("linked_id") is None:
        return None
    return LinkedPerson(
        values["linked_id"], values["linked_full_name"], values["linked_commune_id"]
    )


def device_person(key: str | None, person_id: int | None) -> Row | None:
    """The person, when this phone checks in for them (None otherwise, or when revoked): a row
    of ``id``, ``full_name`` and ``commune_id`` (as :func:`identify`)."""
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
    return list(
        db.session.scalars(
            select(Device)
            .where(
                Device.occasion_kind == occasion.kind,
                Device.occasion_id == occasion.id,
                Device.confirmed_at.is_(None),
                Device.revoked_at.is_(None),
            )
            .options(joinedload(Device.person))
            .order_by(Device.created_at, Device.id)
        )
    )


def _link_of(device: Device, occasion: Occasion | None) -> None:
    if device.revoked_at is not None:
        _refuse(
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
        _require_runner(actor, occasion)
    _link_of(device, occasion)
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
    _require_runner(actor, occasion)
    _link_of(device, occasion)
    if mark_absent:
        record = _record_of(occasion, device.person_id, lock=True)
        if record is not None:
            correct(record, Status.ABSENT, actor=actor, now=now, reason=reason)
    revoke(device, actor=actor, now=now)
    log.info("phone link %s of person %s undone by %s", device.id, device.person_id, actor.username)


def seen_by_staff_now(person_id: int, *, now: datetime) -> bool:
    """Whether staff checked the person in (roster, card, code, paper) at a session whose
    check-in window is open now: a quiz taken on the person's phone now is taken in class."""
    from webapp.checkin.occasions import SessionOccasion

    found = db.session.scalar(
        select(Attendance.id)
        .where(
            Attendance.person_id == person_id,
            Attendance.occasion_kind == SessionOccasion.kind,
            Attendance.occasion_id.in_(SessionOccasion.open_ids(now)),
            Attendance.method.in_([m.value for m in STAFF_METHODS]),
            Attendance.status.in_([s.value for s in ATTENDED]),
        )
        .limit(1)
    )
    return found is not None


def devices_of(person: Person) -> list[Device]:
    return list(
        db.session.scalars(
            select(Device).where(Device.person_id == person.id).order_by(Device.created_at.desc())
        )
    )


def shared_devices(occasion: Occasion) -> dict[str, list[int]]:
    """Phones that checked in more than one person here: device key -> person ids."""
    rows = db.session.execute(
        select(Attendance.device_key, Attendance.person_id).where(
            Attendance.occasion_kind == occasion.kind,
            Attendance.occasion_id == occasion.id,
            Attendance.device_key.in_(
                select(Attendance.device_key)
                .where(
                    Attendance.occasion_kind == occasion.kind,
                    Attendance.occasion_id == occasion.id,
                    Attendance.device_key.is_not(None),
                )
                .group_by(Attendance.device_key)
                .having(func.count() > 1)
            ),
        )
    )
    shared: dict[str, list[int]] = {}
    for key, person_id in rows:
        shared.setdefault(key, []).append(person_id)
    return shared


# --- not enrolled: asking to join ------------------------------------------------------------


def request_join(
    occasion: Occasion, person: Person, *, now: datetime, device_key: str | None
) -> JoinRequest:
    """A person who is not enrolled asks to join; the request waits on the live page."""
    if not occasion.is_open(now):
        _refuse("window_closed", _l("Check-in for this session has closed."), occasion=occasion)
    if person.commune_id != occasion.commune_id:
        _refuse(
            "not_enrolled",
            _l("%(name)s is not enrolled in this class."),
            occasion=occasion,
            person_id=person.id,
            status=409,
            name=person.full_name,
        )
    request = db.session.scalar(
        select(JoinRequest).where(
            JoinRequest.occasion_kind == occasion.kind,
            JoinRequest.occasion_id == occasion.id,
            JoinRequest.person_id == person.id,
        )
    )
    if request is None:
        try:
            with db.session.begin_nested():
                request = JoinRequest(
                    occasion_kind=occasion.kind,
                    occasion_id=occasion.id,
                    person_id=person.id,
                    device_key=device_key,
                    created_at=now,
                )
                db.session.add(request)
        except IntegrityError:  # the same request sent twice at once
            return db.session.scalar(
                select(JoinRequest).where(
                    JoinRequest.occasion_kind == occasion.kind,
                    JoinRequest.occasion_id == occasion.id,
                    JoinRequest.person_id == person.id,
                )
            )
    if request.status == JoinStatus.REJECTED:
        _refuse(
            "join_refused",
            _l("The trainer has already answered your request. Please talk to the trainer."),
            occasion=occasion,
            person_id=person.id,
            status=409,
        )
    return request


#: A learner's request to join, in one statement whoever asks: nothing is written when no
#: person is given (``person_id`` NULL: nobody, or several people, with these details, a
#: member already, or check-in is not open), so the answer and its cost are the same.
_ASK_TO_JOIN = text(
    "INSERT INTO checkin_join_requests (occasion_kind, occasion_id, person_id, device_key,"
    " status, created_at) SELECT :occasion_kind, :occasion_id, CAST(:person_id AS INTEGER),"
    f" NULL, '{JoinStatus.PENDING.value}', :now WHERE CAST(:person_id AS INTEGER) IS NOT NULL"
    " ON CONFLICT (occasion_kind, occasion_id, person_id) DO NOTHING"
).bindparams(bindparam("now", type_=UTCDateTime))


def ask_to_join(occasion: Occasion, person: "LinkedPerson | None", *, now: datetime) -> None:
    """A learner's phone asks for ``person`` (see :func:`join_candidate`) to join: the request
    waits on the live page. Nothing is told or remembered: the phone is not linked."""
    if person is not None and (
        not occasion.is_open(now) or person.commune_id != occasion.commune_id
    ):
        person = None
    values = {
        "occasion_kind": occasion.kind,
        "occasion_id": occasion.id,
        "now": now,
        "person_id": person.id if person is not None else None,
    }
    db.session.flush()  # a text statement does not flush pending changes itself
    db.session.connection().execute(_ASK_TO_JOIN, values)


def pending_joins(occasion: Occasion) -> list[JoinRequest]:
    return list(
        db.session.scalars(
            select(JoinRequest)
            .where(
                JoinRequest.occasion_kind == occasion.kind,
                JoinRequest.occasion_id == occasion.id,
                JoinRequest.status == JoinStatus.PENDING,
            )
            .order_by(JoinRequest.created_at)
        )
    )


def decide_join(request: JoinRequest, *, actor: User, now: datetime, approve: bool) -> None:
    """Approve (enrol the person and check them in at the time they asked) or reject."""
    occasion = occasion_of(request)
    _require_runner(actor, occasion)
    if request.status != JoinStatus.PENDING:
        _refuse("already_decided", _l("This request has already been answered."), occasion=occasion)
    request.status = JoinStatus.APPROVED if approve else JoinStatus.REJECTED
    request.decided_at, request.decided_by_id = now, actor.id
    if not approve:
        return
    if not occasion.admit(request.person, actor=actor, now=now):
        _refuse(
            "class_full",
            _l("The class is full. Add seats to the class first."),
            occasion=occasion,
            status=409,
        )
    status = Status.LATE if request.created_at > occasion.late_from else Status.PRESENT
    _insert(
        dict(
            occasion_kind=occasion.kind,
            occasion_id=occasion.id,
            person_id=request.person_id,
            status=status,
            method=Method.SELF_SCAN,
            recorded_at=request.created_at,
            recorded_by_id=actor.id,
            device_key=request.device_key,
            updated_at=now,
        )
    )
