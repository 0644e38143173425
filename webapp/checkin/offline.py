"""Actions a staff phone queued while offline, applied when it is online again
(docs/offline.md).

Each action carries a random ``nonce`` and the time ``at`` it was made on the phone. It goes
through the same services as online (:func:`webapp.checkin.services.check_in`,
:func:`~webapp.checkin.services.set_status`, a domain's registered handler), judged at its own
time, and its answer is kept in the ledger (:class:`OfflineAction`): the same nonce sent
again returns that answer and changes nothing. One action's refusal never stops the others.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from webapp.accounts.models import User
from webapp.checkin import phones, services
from webapp.checkin.cards import learner_code_in
from webapp.checkin.models import (
    ATTENDED,
    METHOD_LABELS,
    STATUS_LABELS,
    Attendance,
    AttendanceChange,
    Method,
    OfflineAction,
    Status,
)
from webapp.checkin.occasions import SessionOccasion
from webapp.errors import DomainError
from webapp.extensions import db, savepoint
from webapp.people.consent import processable_person
from webapp.people.models import Person
from webapp.scheduling.models import ClassSession, CourseClass
from webapp.scheduling.queries import in_communes_of
from webapp.timeutil import to_local

MAX_ACTIONS = 200
#: A phone's clock this far ahead of the server's is wrong: the server's time is used.
CLOCK_SLACK = timedelta(minutes=2)
#: Older actions are refused (``too_old``): a phone left in a drawer for a week.
MAX_AGE = timedelta(days=7)
NONCE = re.compile(r"[0-9a-f]{32}")
MARKS = (Status.PRESENT, Status.LATE, Status.ABSENT, Status.EXCUSED)
#: Refusals of a mark made once the session and the person were found in the actor's scope:
#: only these name the person (another commune's person id tells nothing).
ABOUT_THE_PERSON = frozenset(
    {"not_enrolled", "not_processed", "window_not_open", "session_cancelled", "reason_missing"}
)


@dataclass
class Outcome:
    """What became of one action: ``ok`` when what it asked for is now recorded."""

    ok: bool
    code: str
    message: str
    person_id: int | None = None
    status: str | None = None
    recorded_at: datetime | None = None
    record_id: int | None = None


#: The handlers of each kind ``(action, *, actor, now, at) -> Outcome``; another domain
#: registers its own (mentoring: ``"meeting"``), so this package need not know it.
HANDLERS: dict[str, Callable[..., Outcome]] = {}


class Invalid(DomainError):
    """An action that cannot be read (a missing or malformed field)."""

    def __init__(self):
        super().__init__("invalid", _("This action could not be read. Nothing was recorded."))


def sync(actions: list, *, actor: User, now: datetime) -> list[dict]:
    """Apply each queued action in turn (each in its own savepoint); one answer each."""
    return [_one(action, actor=actor, now=now) for action in actions]


def _one(action, *, actor: User, now: datetime) -> dict:
    nonce = action.get("nonce") if isinstance(action, dict) else None
    if not isinstance(nonce, str) or not NONCE.fullmatch(nonce):
        return answer(None, Outcome(False, "invalid", Invalid().message))  # not kept: no nonce
    known = _known(nonce)
    if known is not None:
        return answer(nonce, _stored(known))
    try:
        with savepoint():
            entry = OfflineAction(
                nonce=nonce, user_id=actor.id, kind=str(action.get("kind"))[:20], at=now
            )
            entry.received_at, entry.code, entry.message = now, "pending", ""
            db.session.add(entry)
            db.session.flush()  # the nonce is claimed here: a racing upload waits, then loses
            outcome = _apply(action, entry, actor=actor, now=now)
            _keep(entry, outcome)
            db.session.flush()
    except IntegrityError:  # the same nonce in another upload at the same moment
        return answer(nonce, _stored(_known(nonce)))
    return answer(nonce, outcome)


def _known(nonce: str) -> OfflineAction | None:
    stmt = select(OfflineAction).where(OfflineAction.nonce == nonce)
    return db.session.scalar(stmt.execution_options(populate_existing=True))


def _apply(action: dict, entry: OfflineAction, *, actor: User, now: datetime) -> Outcome:
    """The action through its handler, at its own time; a refusal is its answer."""
    adjusted = False
    try:
        at, adjusted = _when(action.get("at"), now)
        entry.at = at
        handler = HANDLERS.get(action.get("kind")) or _invalid
        with savepoint():
            outcome = handler(action, actor=actor, now=now, at=at)
    except DomainError as error:
        outcome = Outcome(False, error.code, str(error.message))
        if action.get("kind") == "mark" and error.code in ABOUT_THE_PERSON:
            outcome.person_id = _int(action.get("person_id"))
    if adjusted:
        outcome.message += " " + _("(The phone's clock was ahead: the server's time was used.)")
    return outcome


def _when(value, now: datetime) -> tuple[datetime, bool]:
    """When the action was made, and whether the phone's clock was ahead (then: now)."""
    try:
        at = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise Invalid() from None
    if at.tzinfo is None:
        raise Invalid()
    if at < now - MAX_AGE:
        raise DomainError(
            "too_old",
            _(
                "This was done on the phone more than %(days)d days ago and is not recorded."
                " Tell the organiser.",
                days=MAX_AGE.days,
            ),
        )
    if at > now + CLOCK_SLACK:
        return now, True
    return min(at, now), False


def _invalid(action, **_kwargs) -> Outcome:
    raise Invalid()


def _keep(entry: OfflineAction, outcome: Outcome) -> None:
    entry.code, entry.ok, entry.message = outcome.code, outcome.ok, outcome.message[:500]
    entry.record_id, entry.person_id = outcome.record_id, outcome.person_id
    entry.status, entry.recorded_at = outcome.status, outcome.recorded_at


def _stored(entry: OfflineAction) -> Outcome:
    return Outcome(
        entry.ok,
        entry.code,
        entry.message,
        person_id=entry.person_id,
        status=entry.status,
        recorded_at=entry.recorded_at,
        record_id=entry.record_id,
    )


def answer(nonce: str | None, outcome: Outcome) -> dict:
    """One result of the sync's JSON."""
    person = db.session.get(Person, outcome.person_id) if outcome.person_id else None
    shown = person is not None and person.erased_at is None
    return {
        "nonce": nonce,
        "ok": outcome.ok,
        "code": outcome.code,
        "message": outcome.message,
        "person": person.full_name if shown else None,
        "status": outcome.status,
        "recorded_at": _hhmm(outcome.recorded_at),
    }


def _hhmm(value: datetime | None) -> str | None:
    return to_local(value).strftime("%H:%M") if value is not None else None


def _int(value) -> int | None:
    return value if isinstance(value, int) and 0 < value < 2**31 else None


# --- marks and learner codes at a class session ---------------------------------------------


def _occasion(actor: User, session_id) -> SessionOccasion:
    """The session, if it is in the actor's commune(s) (else ``not_found``, as online's 404)."""
    session_id = _int(session_id)
    if session_id is None:
        raise Invalid()
    stmt = in_communes_of(
        actor, select(ClassSession).join(ClassSession.course_class), CourseClass.commune_id
    )
    session = db.session.scalar(stmt.where(ClassSession.id == session_id))
    if session is None:
        raise DomainError("not_found", _("This session is not known."), status=404)
    occasion = SessionOccasion(session)
    services.require_runner(actor, occasion)
    return occasion


def mark(action: dict, *, actor: User, now: datetime, at: datetime) -> Outcome:
    """A roster tap: present (late after the grace time, from ``at``), late, absent or
    excused."""
    occasion = _occasion(actor, action.get("session_id"))
    person_id = _int(action.get("person_id"))
    person = db.session.get(Person, person_id) if person_id else None
    if person is None:
        raise Invalid()
    if person.commune_id != occasion.commune_id:
        raise DomainError("not_found", _("This person is not known here."), status=404)
    try:
        wanted = Status(action.get("status"))
    except ValueError:
        raise Invalid() from None
    if wanted not in MARKS:
        raise Invalid()
    reason = action.get("reason") if isinstance(action.get("reason"), str) else ""
    return _record(
        occasion, person, wanted, Method.ROSTER, actor=actor, now=now, at=at, reason=reason
    )


def code(action: dict, *, actor: User, now: datetime, at: datetime) -> Outcome:
    """A learner code typed (or a card read) on the card-scanner page: present from ``at``."""
    occasion = _occasion(actor, action.get("session_id"))
    text = action.get("code")
    if not isinstance(text, str) or len(text) > 200:
        raise Invalid()
    found = learner_code_in(text)
    person = phones.person_by_learner_code(found or "", commune_id=occasion.commune_id)
    method = Method.CARD if "/" in text else Method.CODE
    return _record(occasion, person, Status.PRESENT, method, actor=actor, now=now, at=at)


def _record(
    occasion: SessionOccasion,
    person: Person,
    wanted: Status,
    method: Method,
    *,
    actor: User,
    now: datetime,
    at: datetime,
    reason: str = "",
) -> Outcome:
    """The conflict rules of docs/offline.md, then the online service at the tap's time."""
    record = None
    if not occasion.cancelled and processable_person(person):  # else the service refuses
        record = services.record_to_change(occasion, person.id)
    if record is not None:
        conflict = _conflict(record, wanted, method, actor=actor, at=at)
        if conflict is not None:
            return conflict
    if wanted == Status.PRESENT:
        result = services.check_in(occasion, person, method=method, now=now, actor=actor, at=at)
        record = result.record
    else:
        record = services.set_status(
            occasion, person, wanted, actor=actor, now=now, at=at, reason=reason
        )
    message = _("Recorded: %(status)s at %(time)s.", status=_label(record), time=_hhmm(at))
    return _of(record, True, "recorded", message)


def _conflict(
    record: Attendance, wanted: Status, method: Method, *, actor: User, at: datetime
) -> Outcome | None:
    """The answer when what is recorded stands, or None to apply the tap."""
    said = {"status": _label(record), "time": _hhmm(record.recorded_at), "who": _who(record)}
    own_tap = record.method == method and record.recorded_by_id == actor.id
    came = wanted == Status.PRESENT or (wanted == Status.LATE and not own_tap)
    if record.status == wanted or (came and record.status in ATTENDED):
        message = _("Already recorded: %(status)s at %(time)s by %(who)s. Nothing changed.", **said)
        return _of(record, True, "already_recorded", message)
    if _last_time(record) > at:
        message = _(
            "A later record stands: %(status)s, by %(who)s. This tap was not applied.", **said
        )
        return _of(record, False, "superseded", message)
    if record.status in ATTENDED and wanted not in ATTENDED and not own_tap:
        message = _(
            "Recorded present at %(time)s by %(who)s: an absence marked offline does not"
            " replace it. If the learner really left, correct the record online with a"
            " reason.",
            **said,
        )
        return _of(record, False, "superseded", message)
    return None


def _last_time(record: Attendance) -> datetime:
    """When the record last changed: its first recording or its latest correction."""
    latest = db.session.scalar(
        select(func.max(AttendanceChange.changed_at)).where(
            AttendanceChange.attendance_id == record.id
        )
    )
    return max(record.recorded_at, latest) if latest is not None else record.recorded_at


def _who(record: Attendance) -> str:
    if record.recorded_by is not None:
        return record.recorded_by.full_name
    return str(METHOD_LABELS.get(record.method, record.method))


def _label(record: Attendance) -> str:
    return str(STATUS_LABELS[Status(record.status)])


def _of(record: Attendance, ok: bool, code: str, message: str) -> Outcome:
    return Outcome(
        ok,
        code,
        message,
        person_id=record.person_id,
        status=record.status,
        recorded_at=record.recorded_at,
        record_id=record.id,
    )


HANDLERS["mark"] = mark
HANDLERS["code"] = code


#: Days a queued action's nonce and answer are kept: longer than a queue may wait (7 days,
#: ``too_old``), so that a late retry still finds its answer.
LEDGER_DAYS = 30


def prune(*, now: datetime) -> int:
    """Remove the ledger's entries older than :data:`LEDGER_DAYS` (``flask prune``)."""
    from sqlalchemy import delete

    result = db.session.execute(
        delete(OfflineAction).where(OfflineAction.received_at < now - timedelta(days=LEDGER_DAYS))
    )
    return result.rowcount or 0
