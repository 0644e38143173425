"""The annex of a personal-data impact assessment (Nghị định 13/2023/NĐ-CP, art. 24), built
from live data: who the controller is, what is held about whom, how many, who reads it, how
long it is kept and how it is protected. Every count is one SQL aggregate per table.

See docs/personal-data.md (the same facts, by field).
"""

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select

from webapp.accounts.models import User
from webapp.extensions import db
from webapp.people import audit, importer, visibility
from webapp.people.models import Commune, Household, Person
from webapp.permissions import CARD_PRINTERS, MANAGERS, PEOPLE_READERS, ROLE_LABELS, Role
from webapp.ratelimit import prune as prune_counters

#: Under this age a person is a child: their data is processed with a parent's consent.
CHILD_AGE = 16

#: The counts of the annex, in display order (key, label).
COUNTS = (
    ("people", _l("People in the registry")),
    ("with_phone", _l("with a phone number")),
    ("with_disability", _l("with a disability recorded")),
    ("poor", _l("in a poor household")),
    ("children", _l("under 16")),
    ("erased", _l("erased at their request")),
    ("linked_phones", _l("Phones linked to a learner")),
)

CATEGORIES = (
    _l("Identity: full name, birth year, sex; never a national ID number"),
    _l("Contact and place: phone number, village, household code and address"),
    _l("The plan's groups: target group, older person, trader or farmer, ethnic minority"),
    _l("Sensitive: disability type; poor-household status"),
    _l("Learning: enrolments, attendance, competencies shown, quiz answers, certificates"),
    _l("Mentoring: mentor, meetings and their notes"),
    _l("Phones: a random key and the browser's name, for learners' own check-in"),
    _l("Staff accounts: name, user name, role, last sign-in address"),
    _l("Consents, requests and the audit trail of who read or changed what"),
)

SUBJECTS = (
    _l("Residents of the commune in the registry (adults, older people, school students)"),
    _l("People who asked to join a class on its public page"),
    _l("Staff and volunteers with an account (officers, trainers, village leads, mentors)"),
)

PURPOSES = (
    _l("Organise classes for the commune's plan for digital skills (Bình dân học vụ số)"),
    _l("Record attendance, competencies and issue certificates"),
    _l("Put older people, people with disabilities and poor households first"),
    _l("Report progress against the plan's targets (counts only)"),
    _l("Match learners with mentors (digital ambassadors)"),
)

SECURITY = (
    _l("Every form carries a CSRF token; pages send a strict content security policy"),
    _l("Sign-in attempts are limited per name and per address, with growing waits"),
    _l("Passwords are stored as salted scrypt hashes"),
    _l("Disabling an account or a new password ends its sessions at once"),
    _l("Each role reads only its commune, village, classes or mentees (scoped queries)"),
    _l("Disability and poverty are shown only to the roles listed above"),
    _l("Who viewed, exported, printed or changed a person's data is logged"),
    _l("Backups can be encrypted (AES-256-GCM, key from a passphrase)"),
    _l("Public pages show no personal data; codes in links are unguessable"),
)

REACH_LABELS = {
    visibility.COMMUNE: _l("their commune"),
    visibility.VILLAGE: _l("their own village"),
    visibility.OWN_CLASSES: _l("the learners of their own classes"),
}
FIELD_LABELS = {
    visibility.DISABILITY: _l("Disability type"),
    visibility.POOR_HOUSEHOLD: _l("Poor household"),
}


@dataclass
class Annex:
    communes: list[Commune]
    counts: dict[int, dict[str, int]]
    staff: dict[int | None, dict[str, int]]
    generated_at: datetime
    https: bool
    totals: dict[str, int] = field(default_factory=dict)


def person_counts(commune_ids: list[int], year: int) -> dict[int, dict[str, int]]:
    """Per commune: people, with a phone, with a disability, in a poor household, children,
    erased; and linked phones. Two aggregate queries, whatever the number of people."""

    def count_if(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    live = Person.erased_at.is_(None)
    rows = db.session.execute(
        select(
            Person.commune_id,
            count_if(live),
            count_if(live & Person.phone.is_not(None) & (Person.phone != "")),
            count_if(live & Person.disability.is_not(None)),
            count_if(live & Household.is_poor.is_(True)),
            count_if(live & (Person.birth_year > year - CHILD_AGE)),
            count_if(Person.erased_at.is_not(None)),
        )
        .outerjoin(Household, Household.id == Person.household_id)
        .where(Person.commune_id.in_(commune_ids))
        .group_by(Person.commune_id)
    )
    keys = [key for key, _label in COUNTS]
    counts = {cid: dict.fromkeys(keys, 0) for cid in commune_ids}
    for commune_id, *values in rows:
        counts[commune_id].update(zip(keys, values, strict=False))
    # The check-in table by name: people sits below checkin in the import order.
    devices = db.metadata.tables["checkin_devices"]
    phones = db.session.execute(
        select(Person.commune_id, func.count(devices.c.id))
        .join(Person, Person.id == devices.c.person_id)
        .where(Person.commune_id.in_(commune_ids), devices.c.revoked_at.is_(None))
        .group_by(Person.commune_id)
    )
    for commune_id, linked in phones:
        counts[commune_id]["linked_phones"] = linked
    return counts


def staff_counts(commune_ids: list[int], *, province: bool) -> dict[int | None, dict[str, int]]:
    """Active staff accounts by commune (None: province-wide) and role."""
    where = User.commune_id.in_(commune_ids)
    if province:
        where = where | User.province_wide.is_(True)
    rows = db.session.execute(
        select(User.commune_id, User.province_wide, User.role, func.count(User.id))
        .where(where, User.active.is_(True))
        .group_by(User.commune_id, User.province_wide, User.role)
    )
    found: dict[int | None, dict[str, int]] = {}
    for commune_id, province_wide, role, count in rows:
        unit = None if province_wide else commune_id
        found.setdefault(unit, dict.fromkeys(Role, 0))[Role(role)] += count
    return found


def access_rows() -> list[tuple]:
    """Each role: what it reads, and which sensitive fields within which reach."""
    rows = []
    for role in Role:
        reads = []
        if role in PEOPLE_READERS:
            reads.append(_l("the registry, registers and certificates of their scope"))
        if role in MANAGERS:
            reads.append(_l("imports, accounts, reports"))
        if role in CARD_PRINTERS:
            reads.append(_l("learner cards"))
        if role == Role.VILLAGE_LEAD:
            reads.append(_l("the reports of their village"))
        if role == Role.MENTOR:
            reads.append(_l("their own mentees only"))
        sensitive = [
            (FIELD_LABELS[name], REACH_LABELS[reach[role]])
            for name, reach in visibility.SENSITIVE.items()
            if role in reach
        ]
        rows.append((ROLE_LABELS[role], reads, sensitive))
    return rows


def retention(config) -> list[tuple]:
    """(what, how long) from the constants ``flask prune`` uses."""
    hours = prune_counters.__kwdefaults__["older_than_seconds"] // 3600
    days = int(config.get("AUDIT_RETENTION_DAYS", audit.DEFAULT_RETENTION_DAYS))
    return [
        (_l("Uploaded lists never imported"), importer.STALE_AFTER.days, "days"),
        (_l("Sign-in and check-in rate-limit counters"), hours, "hours"),
        (_l("Audit events"), days, "days"),
    ]


def build(communes: list[Commune], *, now: datetime, https: bool, province: bool) -> Annex:
    """The annex for ``communes`` (one, or every commune of a province-wide admin)."""
    ids = [c.id for c in communes]
    counts = person_counts(ids, now.year) if ids else {}
    totals = {key: sum(c[key] for c in counts.values()) for key, _label in COUNTS}
    return Annex(
        communes=communes,
        counts=counts,
        staff=staff_counts(ids, province=province),
        generated_at=now,
        https=https,
        totals=totals,
    )
