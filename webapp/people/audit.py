"""The audit trail: who viewed, exported, printed or changed a person's data, when, from where.

:func:`record` adds an event in the caller's transaction (it is kept with the change it
describes; a view that only reads commits it itself, see :func:`record_read`). Events are
never changed (ORM and database refuse); ``flask prune`` removes those older than
``AUDIT_RETENTION_DAYS``.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import selectinload

from webapp.extensions import db
from webapp.people.models import Person
from webapp.people.privacy_models import AuditAction, AuditEvent

#: Days an audit event is kept (config ``AUDIT_RETENTION_DAYS`` overrides).
DEFAULT_RETENTION_DAYS = 730


def record(
    *,
    actor,
    now: datetime,
    action: AuditAction,
    what: str,
    person=None,
    person_id: int | None = None,
    commune_id: int | None = None,
    rows: int | None = None,
    address: str = "",
) -> AuditEvent:
    """One event: ``actor`` (a user, or None for the system) did ``action`` on ``what`` (an
    endpoint or file name, never personal data) for one person or ``rows`` people."""
    if person is not None:
        person_id, commune_id = person.id, commune_id or person.commune_id
    event = AuditEvent(
        at=now,
        user_id=getattr(actor, "id", None),
        role=getattr(actor, "role", "") or "",
        action=str(action),
        what=what[:80],
        person_id=person_id,
        commune_id=commune_id if commune_id is not None else getattr(actor, "commune_id", None),
        rows=rows,
        address=(address or "")[:45],
    )
    db.session.add(event)
    return event


def record_many(
    *, actor, now: datetime, action: AuditAction, what: str, people: Iterable, address: str = ""
) -> int:
    """One event per person (a register or a set of cards printed for a class)."""
    return record_each(
        actor=actor,
        now=now,
        action=action,
        what=what,
        people=((person.id, person.commune_id) for person in people),
        address=address,
    )


def record_each(
    *,
    actor,
    now: datetime,
    action: AuditAction,
    what: str,
    people: Iterable[tuple[int, int | None]],
    address: str = "",
) -> int:
    """One event per ``(person id, commune id)``, written in one statement however many (a
    class's register stays one query); how many."""
    rows = [
        {
            "at": now,
            "user_id": getattr(actor, "id", None),
            "role": getattr(actor, "role", "") or "",
            "action": str(action),
            "what": what[:80],
            "person_id": person_id,
            "commune_id": commune_id,
            "rows": None,
            "address": (address or "")[:45],
        }
        for person_id, commune_id in people
    ]
    if rows:
        db.session.execute(insert(AuditEvent), rows)
    return len(rows)


def record_read(
    *,
    actor,
    now: datetime,
    address: str | None,
    action: AuditAction,
    what: str,
    person=None,
    people: Iterable | None = None,
    rows: int | None = None,
    person_id: int | None = None,
    commune_id: int | None = None,
) -> None:
    """Record what a page or file that changes nothing else showed, and commit it: one
    ``person``, each of ``people`` (a class's register or cards), or ``rows`` people in one
    event (a bulk export). Call it once the page or file is made (the commit expires what
    was loaded)."""
    if people is not None:
        record_many(
            actor=actor, now=now, action=action, what=what, people=people, address=address or ""
        )
    else:
        record(
            actor=actor,
            now=now,
            action=action,
            what=what,
            person=person,
            person_id=person_id,
            rows=rows,
            commune_id=commune_id,
            address=address or "",
        )
    db.session.commit()


def _trail(condition, limit: int, commune_id: int | None) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(condition).options(selectinload(AuditEvent.user))
    if commune_id is not None:
        stmt = stmt.where(AuditEvent.commune_id == commune_id)
    stmt = stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    return list(db.session.scalars(stmt))


def for_person(
    person_id: int, *, limit: int = 500, commune_id: int | None = None
) -> list[AuditEvent]:
    """The person's newest events (of one commune's, when ``commune_id`` is given)."""
    return _trail(AuditEvent.person_id == person_id, limit, commune_id)


def for_user(user_id: int, *, limit: int = 500, commune_id: int | None = None) -> list[AuditEvent]:
    """What the user did, newest first (in one commune, when ``commune_id`` is given)."""
    return _trail(AuditEvent.user_id == user_id, limit, commune_id)


def people_of(events: Iterable[AuditEvent]) -> dict[int, Person]:
    """The persons the events are about (those still registered), by id."""
    ids = {e.person_id for e in events if e.person_id is not None}
    if not ids:
        return {}
    return {p.id: p for p in db.session.scalars(select(Person).where(Person.id.in_(ids)))}


#: What an event's ``what`` (an endpoint) was, in words; an unknown one is shown as it is.
WHAT_LABELS = {
    "people.detail": _l("person page"),
    "people.household": _l("household page"),
    "people.create": _l("registration"),
    "people.edit": _l("record edited"),
    "people.household_edit": _l("household edited"),
    "imports.commit": _l("import of a list"),
    "checkin_cards.class_cards": _l("learner cards of a class"),
    "checkin_cards.village_cards": _l("learner cards of a village"),
    "checkin_cards.sheet": _l("paper sign-in sheet"),
    "checkin_records.register": _l("session register"),
    "checkin_records.register_xlsx": _l("session register (Excel)"),
    "checkin_records.class_grid": _l("class attendance"),
    "checkin_records.class_grid_xlsx": _l("class attendance (Excel)"),
    "checkin_records.person": _l("person's attendance"),
    "certificates.detail": _l("certificate page"),
    "certificates.class_pdf": _l("a class's certificates (PDF)"),
    "certificates.village_pdf": _l("a village's certificates (PDF)"),
    "certificates.certificate_pdf": _l("certificate (PDF)"),
    "certificates.print_view": _l("certificate printed from the browser"),
    "mentoring_overview.export": _l("mentoring network (Excel)"),
    "mentoring_overview.digest": _l("mentoring weekly digest"),
    "reports.left": _l("“who is left” list"),
    "reports_export.xlsx": _l("report figures (Excel)"),
    "reports_export.csv": _l("report figures (CSV)"),
    "reports_export.aggregates": _l("report aggregates (CSV)"),
    "reports_export.print_page": _l("printed report"),
}


def what_label(what: str) -> str:
    """The event's ``what`` in words."""
    label = WHAT_LABELS.get(what)
    return str(label) if label is not None else what


def prune(*, now: datetime, days: int = DEFAULT_RETENTION_DAYS) -> int:
    """Remove the events older than the retention; how many."""
    result = db.session.execute(
        delete(AuditEvent).where(AuditEvent.at < now - timedelta(days=days))
    )
    return result.rowcount or 0
