"""Evidence of competencies (record, withdraw, the trainer's checklist toggle) and publishing
new certificate rules.

Services take the acting user and ``now`` and never commit: the view (or caller) does.
"""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from webapp.accounts.models import User
from webapp.errors import DomainError
from webapp.extensions import db
from webapp.learning import framework
from webapp.learning.models import (
    ALL_COMPETENCIES,
    Area,
    CertificateRule,
    Competency,
    Evidence,
    EvidenceKind,
    FrameworkVersion,
)
from webapp.people.models import Person, TargetGroup
from webapp.permissions import MANAGERS
from webapp.scheduling.access import PLANNERS, in_commune, require_runner
from webapp.scheduling.enrolment import is_enrolled
from webapp.scheduling.models import CourseClass


class LearningError(DomainError):
    pass


# --- evidence ------------------------------------------------------------------------------


def record_evidence(
    *,
    actor: User | None,
    now: datetime,
    person: Person,
    competency_code: str,
    kind: str,
    class_id: int | None = None,
    detail: dict | None = None,
    device_id: int | None = None,
    pending: bool = False,
) -> Evidence:
    """Record that ``person`` showed a competency (flushed, not committed).

    ``device_id``: the learner's phone a quiz was passed on; ``pending``: kept but not
    counted until staff confirm that phone's link (see ``Evidence.counting``).

    A VNeID confirmation covers every competency: its code is always "*". Other kinds need a
    code of the current framework version. Who may record is the caller's check (views check
    roles; the quiz records the learner's own pass with ``actor=None``).
    """
    try:
        kind = EvidenceKind(kind)
    except ValueError:
        raise LearningError("unknown_kind", _l("Unknown kind of evidence.")) from None
    if kind == EvidenceKind.VNEID:
        code = ALL_COMPETENCIES
    else:
        code = (competency_code or "").strip()
        version = framework.current_version()
        if version is None or code not in framework.competency_names(version):
            raise LearningError(
                "unknown_competency",
                _l("There is no competency %(code)s in the framework."),
                code=code,
            )
    evidence = Evidence(
        person_id=person.id,
        competency_code=code,
        kind=kind,
        class_id=class_id,
        recorded_by_id=actor.id if actor is not None else None,
        recorded_at=now,
        detail=dict(detail or {}),
        device_id=device_id,
        pending=pending,
    )
    db.session.add(evidence)
    db.session.flush()
    return evidence


def withdraw_evidence(
    *, actor: User | None, now: datetime, evidence: Evidence, reason: str = ""
) -> Evidence:
    """Withdraw evidence (kept on the record with who and when)."""
    if evidence.withdrawn_at is not None:
        raise LearningError("already_withdrawn", _l("This evidence was already withdrawn."))
    evidence.withdrawn_at = now
    evidence.withdrawn_by_id = actor.id if actor is not None else None
    evidence.withdrawn_reason = (reason or "").strip()[:300]
    db.session.flush()
    return evidence


def active_evidence(person_ids) -> list[Evidence]:
    """Evidence not withdrawn of these people (one query)."""
    ids = list(person_ids)
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Evidence).where(Evidence.person_id.in_(ids), Evidence.withdrawn_at.is_(None))
        )
    )


def person_evidence(person: Person) -> list[Evidence]:
    """All the person's evidence, withdrawn included, latest first."""
    return list(
        db.session.scalars(
            select(Evidence)
            .where(Evidence.person_id == person.id)
            .order_by(Evidence.recorded_at.desc(), Evidence.id.desc())
        )
    )


def can_record_for(actor: User, person: Person) -> bool:
    """Planners of the person's commune, and the village lead of the person's village."""
    if not in_commune(actor, person.commune_id):
        return False
    if actor.role in PLANNERS:
        return True
    return actor.village_id is not None and actor.village_id == person.village_id


def require_recorder(actor: User, person: Person) -> None:
    if not can_record_for(actor, person):
        raise LearningError(
            "not_allowed", _l("You may not record evidence for this person."), status=403
        )


# --- the trainer's practical checklist ---------------------------------------------------------


def checklist_codes(course_class: CourseClass, version: FrameworkVersion | None) -> list[str]:
    """The competencies of the class's checklist: the course's, in framework order (every
    competency of the framework when the course lists none)."""
    names = framework.competency_names(version)
    wanted = set(course_class.course.competency_codes or [])
    return [code for code in names if not wanted or code in wanted]


def checklist_marks(course_class: CourseClass) -> dict[tuple[int, str], Evidence]:
    """(person id, code) -> the active checklist evidence recorded in this class."""
    rows = db.session.scalars(
        select(Evidence).where(
            Evidence.class_id == course_class.id,
            Evidence.kind == EvidenceKind.CHECKLIST,
            Evidence.withdrawn_at.is_(None),
        )
    )
    return {(e.person_id, e.competency_code): e for e in rows}


def toggle_checklist(
    *, actor: User, now: datetime, course_class: CourseClass, person: Person, competency_code: str
) -> Evidence | None:
    """One tap on the checklist: record "can do" or, when already ticked, withdraw it.

    Returns the evidence now in force, or None when the tick was withdrawn.
    """
    require_runner(actor, course_class)
    if not is_enrolled(person, course_class):
        raise LearningError("not_enrolled", _l("This person is not enrolled in the class."))
    if competency_code not in checklist_codes(course_class, framework.current_version()):
        raise LearningError(
            "unknown_competency",
            _l("There is no competency %(code)s in the framework."),
            code=competency_code,
        )
    current = db.session.scalar(
        select(Evidence).where(
            Evidence.class_id == course_class.id,
            Evidence.person_id == person.id,
            Evidence.competency_code == competency_code,
            Evidence.kind == EvidenceKind.CHECKLIST,
            Evidence.withdrawn_at.is_(None),
        )
    )
    if current is not None:
        withdraw_evidence(actor=actor, now=now, evidence=current)
        return None
    return record_evidence(
        actor=actor,
        now=now,
        person=person,
        competency_code=competency_code,
        kind=EvidenceKind.CHECKLIST,
        class_id=course_class.id,
    )


# --- certificate rules -------------------------------------------------------------------------


def publish_rules(
    *, actor: User, now: datetime, base: FrameworkVersion, rules: dict, note: str
) -> FrameworkVersion:
    """Publish a new version: the areas and competencies of ``base`` with new rules.

    ``rules`` maps a TargetGroup value to ``(required codes, min attendance %, min hours)``,
    optionally with a fourth: whether hours of mentoring meetings count (default no).
    The earlier version is not touched (certificates issued under it keep it).
    """
    if actor.role not in MANAGERS:
        raise LearningError("not_allowed", _l("Only organisers may change the rules."), status=403)
    note = (note or "").strip()
    if not note:
        raise LearningError("note_missing", _l("Say what changed and why."))
    known = [c.code for c in base.competencies]
    version = FrameworkVersion(
        number=framework.next_number(),
        label=base.label,
        meta={**(base.meta or {}), "rules_from_version": base.number},
        created_at=now,
        created_by_id=actor.id,
        note=note[:2000],
    )
    db.session.add(version)
    areas = {}
    for old in base.areas:
        areas[old.id] = Area(
            version=version,
            code=old.code,
            name_vi=old.name_vi,
            name_en=old.name_en,
            position=old.position,
        )
        db.session.add(areas[old.id])
    for old in base.competencies:
        db.session.add(
            Competency(
                version=version,
                area=areas[old.area_id],
                code=old.code,
                name_vi=old.name_vi,
                name_en=old.name_en,
                description=old.description,
                position=old.position,
            )
        )
    for group in TargetGroup:
        if group.value not in rules:
            continue
        codes, pct, hours, *meeting_hours = rules[group.value]
        unknown = sorted(set(codes) - set(known))
        if unknown:
            raise LearningError(
                "unknown_competency",
                _l("There is no competency %(code)s in the framework."),
                code=", ".join(unknown),
            )
        if not 0 <= int(pct) <= 100 or not 0 <= float(hours) <= 1000:
            raise LearningError(
                "bad_threshold", _l("Attendance is 0 to 100 percent; hours 0 to 1000.")
            )
        db.session.add(
            CertificateRule(
                version=version,
                target_group=group.value,
                required_codes=[c for c in known if c in set(codes)],
                min_attendance_pct=int(pct),
                min_hours=float(hours),
                meeting_hours_count=bool(meeting_hours and meeting_hours[0]),
            )
        )
    db.session.flush()
    return version
