"""Erasure at the person's request: personal fields removed or made unidentifiable
everywhere, while what must stay stays.

Kept: the person's row (so every aggregate figure stays right) with only what the figures
need — commune, village, household, target group, birth year, the VNeID and signature flags,
registration date — and their records (attendance, evidence, certificates, mentoring) under
that anonymous row. Issued certificates stay verifiable by their code; their frozen text loses
the holder's name, birth year and village and says the holder's data was erased.

Removed: name (replaced by "Đã xoá <id>"), phone, note, learner code, sex, disability,
ethnic-minority and trader flags, consent records (the proof is no longer needed once there is
nothing to process), linked phones' keys and browser names, sign-up requests' names and
phones, pending import files that contain the name, and every occurrence of the name or phone
in the free text of the person's records and in the product's free-text columns (notes,
reasons). Audit events carry no name and stay (who handled the person's data and when).
"""

import json
import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, LargeBinary, String, Text, delete, func, select, update

from webapp.checkin.models import Device, JoinRequest
from webapp.extensions import db
from webapp.people import audit
from webapp.people.models import ImportBatch, Person
from webapp.people.privacy_models import AuditAction, Consent, PrivacyError
from webapp.text import fold

ERASED_NAME = "Đã xoá"
#: Put where an erased value was found in free text.
MASK = "[đã xoá]"
#: Columns naming other records (other people, staff): never rewritten by the free-text pass,
#: so that erasing one "Nguyễn Văn An" leaves another one's name alone.
IDENTITY_COLUMNS = {
    "persons": {"full_name", "name_key", "search_text", "phone", "note", "learner_code"},
    "users": {"full_name", "username", "password_hash", "phone"},
    "signup_requests": {"full_name", "phone"},
    "consent_notices": {"text_vi", "text_en"},
    "audit_events": set(),
    "alembic_version": {"version_num"},
}
#: Tables never touched by the free-text pass.
SKIPPED_TABLES = {"audit_events", "alembic_version", "consent_notices", "report_spans"}


def erased_values(person: Person) -> list[str]:
    """The strings that must not be found anywhere after erasure."""
    values = {person.full_name, fold(person.full_name), person.phone or ""}
    return sorted((v for v in values if v and len(v) >= 4), key=len, reverse=True)


def erase(*, actor, now: datetime, person: Person, address: str = "") -> None:
    """Erase the person's personal data (one transaction with the caller's)."""
    if person.erased_at is not None:
        raise PrivacyError(
            "already_erased", _l("This person's data was already erased."), status=409
        )
    values = erased_values(person)
    _certificates(person)
    _linked_rows(person, values)
    _free_text(values)
    _signups_and_phones(person)
    _pending_imports(person, values)
    db.session.execute(delete(Consent).where(Consent.person_id == person.id))
    person.set_name(f"{ERASED_NAME} {person.id}")
    person.phone = None
    person.note = ""
    person.learner_code = None
    person.sex = None
    person.disability = None
    person.ethnic_minority = False
    person.trader_farmer = False
    person.consent_on = None
    person.consent_recorded_by_id = None
    person.refresh_search_text()
    person.erased_at = now
    person.updated_at = now
    audit.record(
        actor=actor,
        now=now,
        action=AuditAction.ERASE,
        what="person.erased",
        person=person,
        address=address,
    )
    db.session.flush()


def _certificates(person: Person) -> None:
    """The frozen text keeps the course, dates, issuer and serial; not the holder."""
    from webapp.certificates.models import Certificate

    rows = db.session.execute(
        select(Certificate.id, Certificate.snapshot).where(Certificate.person_id == person.id)
    ).all()
    for certificate_id, snapshot in rows:
        kept = {
            k: v
            for k, v in (snapshot or {}).items()
            if k not in {"full_name", "birth_year", "village"}
        }
        kept.update(full_name="", holder_erased=True)
        # Core UPDATE: the one change an issued certificate accepts (see certificates.models).
        db.session.execute(
            update(Certificate.__table__)
            .where(Certificate.__table__.c.id == certificate_id)
            .values(snapshot=kept)
        )
    db.session.expire_all()


def _scrub(value, values: list[str]):
    """The JSON value with every erased string masked, recursively."""
    if isinstance(value, str):
        for secret in values:
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, list):
        return [_scrub(v, values) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, values) for k, v in value.items()}
    return value


def _linked_rows(person: Person, values: list[str]) -> None:
    """JSON of the person's own records (evidence details, quiz answers, …): masked."""
    for table in db.metadata.sorted_tables:
        if (
            table.name in SKIPPED_TABLES
            or "person_id" not in table.c
            or table.name == "certificates"
        ):
            continue
        for column in table.c:
            if not isinstance(column.type, JSON):
                continue
            rows = db.session.execute(
                select(table.c.id, column).where(table.c.person_id == person.id)
            ).all()
            for row_id, value in rows:
                scrubbed = _scrub(value, values)
                if scrubbed != value:
                    db.session.execute(
                        update(table).where(table.c.id == row_id).values({column.name: scrubbed})
                    )


def _free_text(values: list[str]) -> None:
    """Every text column of the product (notes, reasons, titles) that holds the name or the
    phone: masked, except the columns naming other records."""
    for table in db.metadata.sorted_tables:
        if table.name in SKIPPED_TABLES:
            continue
        identity = IDENTITY_COLUMNS.get(table.name, set())
        for column in table.c:
            if column.name in identity or isinstance(column.type, LargeBinary):
                continue
            if isinstance(column.type, JSON) or not isinstance(column.type, String | Text):
                continue
            for secret in values:
                db.session.execute(
                    update(table)
                    .where(column.contains(secret, autoescape=True))
                    .values({column.name: func.replace(column, secret, MASK)})
                )


def _signups_and_phones(person: Person) -> None:
    from webapp.scheduling.models import SignupRequest

    db.session.execute(
        update(SignupRequest)
        .where(SignupRequest.person_id == person.id)
        .values(full_name=ERASED_NAME, phone="")
    )
    if person.phone:
        db.session.execute(
            update(SignupRequest)
            .where(SignupRequest.phone == person.phone)
            .values(full_name=ERASED_NAME, phone="")
        )
    # A linked phone keeps its row (evidence passed on it still counts as it did) but loses
    # its key — the phone can no longer act for the person — and its browser's name.
    for device in db.session.scalars(select(Device).where(Device.person_id == person.id)):
        device.key = secrets.token_hex(16)
        device.user_agent = ""
    db.session.execute(
        update(JoinRequest).where(JoinRequest.person_id == person.id).values(device_key=None)
    )


def _pending_imports(person: Person, values: list[str]) -> None:
    """Import files not imported yet that mention the person: removed (an imported file's
    content is already dropped when it is imported)."""
    batches = db.session.scalars(
        select(ImportBatch).where(
            ImportBatch.commune_id == person.commune_id, ImportBatch.committed_at.is_(None)
        )
    )
    for batch in batches:
        text = json.dumps(batch.parsed_rows, ensure_ascii=False) if batch.parsed_rows else ""
        if any(v in text for v in values):
            db.session.delete(batch)
