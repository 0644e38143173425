"""The attendance rule, in one place (after pretix's ``perform_checkin``).

:func:`check_in` records that a person came to an occasion, once: a repeated scan returns the
existing record; a unique constraint backs that when two requests race. Every refusal raises a
:class:`CheckinError` with a stable code and is logged. Staff corrections keep who, when and
why. Functions take the acting user (or none, for a learner's own phone) and ``now``.

Around the rule: the check-in point of an occasion (its QR token and typed code) and requests
to join. Who a learner says they are, and the phones that remember them, are
:mod:`webapp.checkin.phones`.
"""

import hashlib
import hmac
import logging
import secrets
from datetime import datetime
from typing import NamedTuple, Protocol

from flask_babel import lazy_gettext as _l
from sqlalchemy import Row, bindparam, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from webapp.accounts.models import User
from webapp.checkin.models import (
    ATTENDED,
    Attendance,
    AttendanceChange,
    CheckinPoint,
    JoinRequest,
    JoinStatus,
    Method,
    Status,
)
from webapp.checkin.occasions import KINDS, Occasion, SessionOccasion, at_occasion
from webapp.errors import DomainError
from webapp.extensions import db, savepoint
from webapp.people.consent import processable_person as processable
from webapp.people.models import Person
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


def refuse(
    code: str,
    message,
    *,
    occasion: Occasion | None = None,
    person_id=None,
    status: int = 400,
    **params,
):
    """Log the refusal and raise it as a :class:`CheckinError` (its ``code``, ``message`` with
    ``params``, and ``status``)."""
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
    stmt = select(CheckinPoint).where(at_occasion(CheckinPoint, occasion))
    point = db.session.scalar(stmt)
    if point is not None:
        return point
    for _attempt in range(5):
        try:
            with savepoint():
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
    require_runner(actor, occasion)
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


class Scanned(NamedTuple):
    """A scanned check-in point (see :func:`resolve_token`)."""

    #: The point's row: its columns (``id``, ``token``, ``rotating`` …), its occasion's, and
    #: the first row of what was read with it.
    point: Row
    occasion: Occasion
    #: Every row read: one for each row of what was read with the point (see
    #: :meth:`Occasion.at_point`).
    rows: list[Row]


def resolve_token(
    token: str,
    *,
    code: str | None,
    now: datetime,
    code_checked: bool = False,
    joined: tuple | None = None,
) -> Scanned:
    """The check-in point and the occasion of a scanned QR (``/c/<token>[/<code>]``), in one
    query for the learner's phone.

    ``code_checked``: the rotating code was valid when the learner opened the page (a signed
    ticket says so); typing a phone number may take longer than a step.

    ``joined``: what is read with the point, in the same query (see
    :meth:`Occasion.at_point`): the person a phone checks in for with one tap
    (:func:`webapp.checkin.phones.linked_join`), or the people with the phone number and
    birth year a learner typed, with the guard's counts
    (:meth:`webapp.checkin.phones.Identity.joined`).
    """
    for cls in KINDS.values():
        found = cls.at_point(token, joined=joined)
        if found is not None:
            break
    else:
        refuse("unknown_token", _l("This check-in code is not known."), status=404)
    rows, occasion = found
    point = rows[0]
    if (
        point.rotating
        and not code_checked
        and not (code and _rotating_code_valid(point, normalise_code(code), now))
    ):
        refuse(
            "code_expired",
            _l("This code has changed. Scan the code on the screen again."),
            occasion=occasion,
        )
    return Scanned(point, occasion, rows)


def resolve_code(code: str, *, now: datetime) -> tuple[CheckinPoint, str | None]:
    """The check-in point of a typed session code; with the rotating code to carry along."""
    code = normalise_code(code)
    if len(code) != CODE_LENGTH:
        refuse("unknown_code", _l("The code has six letters and digits. Please check it."))
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
    refuse("unknown_code", _l("No class is checking in with this code now. Please check it."))


# --- the rule ------------------------------------------------------------------------------


class Attendee(Protocol):
    """Who :func:`check_in` records (read-only attributes): a
    :class:`~webapp.people.models.Person`, or the few columns of one a learner's phone reads
    (a row, a :class:`webapp.checkin.phones.LinkedPerson`)."""

    @property
    def id(self) -> int: ...

    @property
    def full_name(self) -> str: ...


class Resident(Attendee, Protocol):
    """An :class:`Attendee` with their commune: who may ask to join an occasion there."""

    @property
    def commune_id(self) -> int: ...


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


def require_runner(actor: User | None, occasion: Occasion) -> None:
    """Refuse (403) unless the actor runs the occasion."""
    if actor is None or not occasion.can_run(actor):
        refuse(
            "not_allowed",
            _l("Only this class's trainers or an organiser may do this."),
            occasion=occasion,
            status=403,
        )


#: The refusals said in several places, by their code.
_SAID = {
    "session_cancelled": _l("This session is cancelled."),
    "window_not_open": _l("Check-in has not opened yet. It opens at %(time)s."),
    "window_closed": _l("Check-in for this session has closed."),
    "not_enrolled": _l("%(name)s is not enrolled in this class."),
    "reason_missing": _l("Please say why the record is corrected."),
    "not_processed": _l(
        "This person's data is not processed (consent withdrawn, or restricted at their"
        " request): nothing is recorded. The commune officer can say more."
    ),
}


def _refuse_as(code: str, occasion: Occasion, person_id: int | None = None, **params) -> None:
    """:func:`refuse` with the message of ``code`` in :data:`_SAID`."""
    refuse(code, _SAID[code], occasion=occasion, person_id=person_id, **params)


def _refuse_not_open_yet(occasion: Occasion, person_id: int) -> None:
    _refuse_as("window_not_open", occasion, person_id, time=_hhmm(occasion.opens_at))


def _refuse_not_enrolled(occasion: Occasion, person: Attendee) -> None:
    message = occasion.not_member_message or _SAID["not_enrolled"]
    refuse(
        "not_enrolled",
        message,
        occasion=occasion,
        person_id=person.id,
        status=409,
        name=person.full_name,
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


def _row(
    occasion: Occasion,
    person_id: int,
    status: Status,
    method: Method,
    *,
    now: datetime,
    by: User | None,
    device_key: str | None = None,
    recorded_at: datetime | None = None,
) -> dict:
    """The values of a new attendance row, recorded ``by`` someone (or none: a learner's
    phone) at ``recorded_at`` (by default ``now``, when it is written)."""
    return {
        "occasion_kind": occasion.kind,
        "occasion_id": occasion.id,
        "person_id": person_id,
        "status": status,
        "method": method,
        "recorded_at": now if recorded_at is None else recorded_at,
        "recorded_by_id": by.id if by is not None else None,
        "device_key": device_key,
        "updated_at": now,
    }


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


def record_of(occasion: Occasion, person: Attendee) -> Attendance | None:
    """The person's record here, if any."""
    return _record_of(occasion, person.id)


def record_to_change(occasion: Occasion, person_id: int) -> Attendance | None:
    """The person's record here, if any, locked until the end of the transaction (on
    PostgreSQL) for a change."""
    return _record_of(occasion, person_id, lock=True)


def check_in(
    occasion: Occasion,
    person: Attendee,
    *,
    method: Method,
    now: datetime,
    actor: User | None = None,
    device_key: str | None = None,
    at: datetime | None = None,
) -> Result:
    """Record that ``person`` is here, once. Present, or late after the grace time.

    A learner's own phone (``SELF_SCAN``, ``CODE_SELF``: no actor) works only inside the
    check-in window; staff methods need the actor to run the occasion and work from the
    window's opening on (a paper sheet is entered afterwards).

    ``at``: when the person arrived, if earlier than ``now`` (staff entering it afterwards,
    e.g. a mentor logging a meeting after it): lateness and the record's time follow it.
    """
    if method in STAFF_METHODS:
        require_runner(actor, occasion)
    arrived = now if at is None or method in PHONE_METHODS else min(at, now)
    if occasion.cancelled:
        _refuse_as("session_cancelled", occasion, person.id)
    if arrived < occasion.opens_at:
        _refuse_not_open_yet(occasion, person.id)
    if method in PHONE_METHODS and now > occasion.closes_at:
        _refuse_as("window_closed", occasion, person.id)
    status = Status.LATE if arrived > occasion.late_from else Status.PRESENT
    # Members only: the occasion checks membership with the insert (one statement where it
    # can); only when no row was made is it asked why.
    values = _row(
        occasion,
        person.id,
        status,
        method,
        now=now,
        by=actor,
        device_key=device_key,
        recorded_at=arrived,
    )
    new_id = occasion.insert_attendance(values, _insert)
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
        _refuse_not_enrolled(occasion, person)
    record = _record_of(occasion, person.id, lock=True)
    if record is None:  # a member the insert left out: not to be processed
        _refuse_as("not_processed", occasion, person.id, status=409)
    if record.status not in ATTENDED:
        # Marked absent or excused earlier, and here after all.
        _change(record, status, actor=actor, now=now, method=method, reason="", at=arrived)
        record.recorded_at, record.device_key = arrived, device_key or record.device_key
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
    at: datetime | None = None,
) -> Attendance:
    """Staff record a status (roster, paper sheet); changing a recorded one is a correction.

    ``at``: when the status was taken, if earlier than ``now`` (a tap queued on an offline
    phone): the window, the new record's time and the change's time follow it.
    """
    require_runner(actor, occasion)
    status = Status(status)
    taken = now if at is None else min(at, now)
    if occasion.cancelled:
        _refuse_as("session_cancelled", occasion, person.id)
    if status in ATTENDED and taken < occasion.opens_at:
        _refuse_not_open_yet(occasion, person.id)
    if not occasion.is_member(person.id):
        _refuse_not_enrolled(occasion, person)
    if not processable(person):
        _refuse_as("not_processed", occasion, person.id, status=409)
    new_id = _insert(
        _row(occasion, person.id, status, method, now=now, by=actor, recorded_at=taken)
    )
    if new_id is not None:
        return db.session.get(Attendance, new_id)
    record = _record_of(occasion, person.id, lock=True)
    if record.status != status:
        reason = nfc(reason or "").strip()
        made_here = record.method == method and record.recorded_by_id == actor.id
        if not reason and not made_here:
            # Overruling what the learner's phone, a card or a colleague recorded: say why.
            _refuse_as("reason_missing", occasion, person.id)
        _change(record, status, actor=actor, now=now, method=method, reason=reason, at=taken)
    return record


def correct(
    record: Attendance, status: Status, *, actor: User, now: datetime, reason: str
) -> Attendance:
    """A staff correction of a record, with a reason (kept with who and when)."""
    occasion = occasion_of(record)
    require_runner(actor, occasion)
    reason = nfc(reason or "").strip()
    if not reason:
        _refuse_as("reason_missing", occasion, record.person_id)
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
    at: datetime | None = None,
) -> None:
    """Change the record's status, kept in its history as made ``at`` (by default ``now``,
    when it is written)."""
    db.session.add(
        AttendanceChange(
            attendance=record,
            changed_at=now if at is None else at,
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


def seen_by_staff_now(person_id: int, *, now: datetime) -> bool:
    """Whether staff checked the person in (roster, card, code, paper) at a session whose
    check-in window is open now: a quiz taken on the person's phone now is taken in class."""
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


# --- not enrolled: asking to join ------------------------------------------------------------


def _join_request(occasion: Occasion, person_id: int) -> JoinRequest | None:
    stmt = select(JoinRequest).where(
        at_occasion(JoinRequest, occasion), JoinRequest.person_id == person_id
    )
    return db.session.scalar(stmt)


def request_join(
    occasion: Occasion, person: Resident, *, now: datetime, device_key: str | None
) -> JoinRequest:
    """A person who is not enrolled asks to join; the request waits on the live page."""
    if not occasion.is_open(now):
        _refuse_as("window_closed", occasion)
    if person.commune_id != occasion.commune_id:
        _refuse_not_enrolled(occasion, person)
    request = _join_request(occasion, person.id)
    if not occasion.takes_joins:
        _refuse_not_enrolled(occasion, person)
    if request is None:
        try:
            with savepoint():
                request = JoinRequest(
                    occasion_kind=occasion.kind,
                    occasion_id=occasion.id,
                    person_id=person.id,
                    device_key=device_key,
                    created_at=now,
                )
                db.session.add(request)
        except IntegrityError:  # the same request sent twice at once
            return _join_request(occasion, person.id)
    if request.status == JoinStatus.REJECTED:
        refuse(
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


def ask_to_join(occasion: Occasion, person: Resident | None, *, now: datetime) -> None:
    """A learner's phone asks for ``person`` (see :func:`webapp.checkin.phones.join_candidate`)
    to join: the request
    waits on the live page. Nothing is told or remembered: the phone is not linked."""
    if person is not None and (
        not occasion.takes_joins
        or not occasion.is_open(now)
        or person.commune_id != occasion.commune_id
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
    """The requests to join made at the occasion and not answered yet, oldest first."""
    stmt = select(JoinRequest).where(
        at_occasion(JoinRequest, occasion), JoinRequest.status == JoinStatus.PENDING
    )
    # The live page names each with their birth year and village.
    stmt = stmt.options(selectinload(JoinRequest.person).selectinload(Person.village))
    return list(db.session.scalars(stmt.order_by(JoinRequest.created_at)))


def decide_join(request: JoinRequest, *, actor: User, now: datetime, approve: bool) -> None:
    """Approve (enrol the person and check them in at the time they asked) or reject."""
    occasion = occasion_of(request)
    require_runner(actor, occasion)
    if request.status != JoinStatus.PENDING:
        refuse("already_decided", _l("This request has already been answered."), occasion=occasion)
    request.status = JoinStatus.APPROVED if approve else JoinStatus.REJECTED
    request.decided_at, request.decided_by_id = now, actor.id
    if not approve:
        return
    if not occasion.admit(request.person, actor=actor, now=now):
        refuse(
            "class_full",
            _l("The class is full. Add seats to the class first."),
            occasion=occasion,
            status=409,
        )
    status = Status.LATE if request.created_at > occasion.late_from else Status.PRESENT
    _insert(
        _row(
            occasion,
            request.person_id,
            status,
            Method.SELF_SCAN,
            now=now,
            by=actor,
            device_key=request.device_key,
            recorded_at=request.created_at,
        )
    )
