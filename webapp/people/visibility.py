"""Who may see the sensitive personal fields: a person's disability type and their household's
poverty status (Nghị định 13/2023/NĐ-CP: data on health and on a person's circumstances).

The rule is one table, :data:`SENSITIVE`, the same as the "who may see" column of
docs/personal-data.md (tests/people/test_personal_data_table.py compares them and opens each
page as each role). Templates ask :func:`can_see` (a Jinja global) before showing the field,
and :func:`visible_segments` instead of ``person.segments(year)``.

Aggregate counts (reports, the mentoring overview) are not governed here: they name nobody.
"""

from flask import g, has_app_context
from sqlalchemy import select

from webapp.extensions import db
from webapp.people.models import Segment
from webapp.permissions import Role

DISABILITY = "disability"
POOR_HOUSEHOLD = "poor_household"

#: How far a role's right reaches (beyond it the field is hidden, the person may still show).
COMMUNE = "commune"  # every person of the user's commune (every commune if province-wide)
VILLAGE = "village"  # the people of the user's own village
OWN_CLASSES = "own_classes"  # the learners enrolled in a class the user trains

#: field → {role: reach}. A role not listed never sees the field.
SENSITIVE: dict[str, dict[Role, str]] = {
    # to plan accessible classes and support the learner in class
    DISABILITY: {
        Role.ADMIN: COMMUNE,
        Role.ORGANISER: COMMUNE,
        Role.VILLAGE_LEAD: VILLAGE,
        Role.TRAINER: OWN_CLASSES,
    },
    # to put poor households first (targets, door-to-door lists); no trainer or mentor needs it
    POOR_HOUSEHOLD: {
        Role.ADMIN: COMMUNE,
        Role.ORGANISER: COMMUNE,
        Role.VILLAGE_LEAD: VILLAGE,
    },
}

#: The segment that reveals each sensitive field.
SEGMENT_FIELDS = {Segment.DISABILITY: DISABILITY, Segment.POOR_HOUSEHOLD: POOR_HOUSEHOLD}


def taught_person_ids(user) -> frozenset[int]:
    """The people enrolled in a class the user trains (once per request)."""
    cache = g.setdefault("_taught_people", {}) if has_app_context() else {}
    if user.id not in cache:
        # The scheduling tables by name: people sits below scheduling in the import order.
        tables = db.metadata.tables
        enrolments, trainers = tables["enrolments"], tables["class_trainers"]
        stmt = (
            select(enrolments.c.person_id)
            .join(trainers, trainers.c.class_id == enrolments.c.class_id)
            .where(trainers.c.user_id == user.id, enrolments.c.status == "enrolled")
        )
        cache[user.id] = frozenset(db.session.scalars(stmt))
    return cache[user.id]


def can_see(user, field: str, subject=None) -> bool:
    """Whether ``user`` may see ``field`` (:data:`SENSITIVE`) of ``subject`` (a person or a
    household); without a subject, whether the role may see it for anyone at all."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    reach = SENSITIVE[field].get(user.role)
    if reach is None:
        return False
    if subject is None:
        return True
    if not user.works_in(subject.commune_id):
        return False
    if reach == VILLAGE:
        return subject.village_id == user.village_id
    if reach == OWN_CLASSES:
        return subject.id in taught_person_ids(user)
    return True


def visible_segments(user, person, year: int) -> list[Segment]:
    """The person's segments, without those that would tell the user a field they may not
    see (a trainer sees "person with a disability" only for their own learners)."""
    household = person.household if person.household_id is not None else None
    shown = []
    for segment in person.segments(year):
        field = SEGMENT_FIELDS.get(segment)
        subject = household if field == POOR_HOUSEHOLD else person
        if field is None or can_see(user, field, subject):
            shown.append(segment)
    return shown


def segment_choices(user) -> set[Segment]:
    """The segments the user may search by: not one whose field they may not see for every
    person of their scope (a filter by it would tell who is in it)."""
    full = {COMMUNE, VILLAGE}
    return {
        segment
        for segment in Segment
        if segment not in SEGMENT_FIELDS
        or SENSITIVE[SEGMENT_FIELDS[segment]].get(user.role) in full
    }
