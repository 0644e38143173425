"""Scheduling rules: courses, venues, classes, sessions and clash detection."""

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import false, or_, select

from webapp.accounts.models import User
from webapp.errors import DomainError
from webapp.extensions import db
from webapp.people.models import DisabilityType, Segment, TargetGroup, Village
from webapp.permissions import Role
from webapp.scheduling.access import (  # noqa: F401 (re-exported: the rules' older home)
    PLANNERS,
    can_run,
    in_commune,
    may_override_clash,
    require_planner,
    require_runner,
)
from webapp.scheduling.enrolment import promote_waiting
from webapp.scheduling.models import (
    Accessibility,
    Accommodation,
    ClassSession,
    ClassStatus,
    Course,
    CourseClass,
    CourseMaterial,
    Equipment,
    Venue,
    class_trainers,
)
from webapp.scheduling.series import PlannedSession
from webapp.text import clean

#: A competency code of the digital-skills framework, e.g. "1.1" or "2.3".
COMPETENCY_CODE = re.compile(r"\d{1,2}(\.\d{1,2}){0,2}")


# --- courses, venues, classes ------------------------------------------------------------------


#: Fields holding a list of choices: (field, the values allowed, error code, message).
_AUDIENCE_CHOICES = (
    ("target_groups", set(TargetGroup), "group_invalid", _l("Choose a target group.")),
    ("segments", set(Segment), "segment_invalid", _l("Unknown segment.")),
)
COURSE_CHOICES = (
    *_AUDIENCE_CHOICES,
    ("disability_types", set(DisabilityType), "disability_invalid", _l("Unknown disability type.")),
)
CLASS_CHOICES = (
    *_AUDIENCE_CHOICES,
    ("accommodations", set(Accommodation), "accommodation_invalid", _l("Unknown accommodation.")),
)
VENUE_CHOICES = (
    (
        "accessibility",
        set(Accessibility),
        "accessibility_invalid",
        _l("Unknown accessibility feature."),
    ),
    ("equipment", set(Equipment), "equipment_invalid", _l("Unknown equipment.")),
)


def _check_choice_fields(fields: dict, checks) -> None:
    """Every list of choices given must hold only allowed values (else the check's error)."""
    for name, allowed, code, message in checks:
        if name not in fields:
            continue
        values = fields[name]
        if not isinstance(values, list) or any(v not in allowed for v in values):
            raise DomainError(code, message)


def _tidy_required(fields: dict, name: str, code: str, message) -> None:
    """Tidy the text ``fields[name]`` when it is given, and refuse it empty."""
    if name in fields:
        fields[name] = clean(fields[name])
        if not fields[name]:
            raise DomainError(code, message)


def _check_village(village_id: int | None, commune_id: int) -> None:
    if village_id is None:
        return
    village = db.session.get(Village, village_id)
    if village is None or village.commune_id != commune_id:
        raise DomainError("village_invalid", _l("Choose a village of this commune."))


def _check_course_fields(fields: dict) -> None:
    """Validate (and tidy) the fields a course form may set."""
    _tidy_required(fields, "title", "title_missing", _l("Give the course a title."))
    if len(fields.get("title", "")) > 200:
        raise DomainError("title_too_long", _l("The title is too long (at most 200 characters)."))
    _check_choice_fields(fields, COURSE_CHOICES)
    codes = fields.get("competency_codes", [])
    if not isinstance(codes, list) or any(not COMPETENCY_CODE.fullmatch(c) for c in codes):
        raise DomainError("competency_invalid", _l("Write competency codes such as 1.1, 2.3."))
    if (fields.get("planned_hours") or 0) < 0 or (fields.get("planned_sessions") or 0) < 0:
        raise DomainError("plan_negative", _l("Planned hours and sessions cannot be negative."))


def _set_fields(row, fields: dict):
    """Write the checked fields on the row (and flush); the row."""
    for name, value in fields.items():
        setattr(row, name, value)
    db.session.flush()
    return row


def create_course(*, actor: User, now: datetime, commune_id: int, **fields) -> Course:
    """Create a course in the actor's commune."""
    require_planner(actor, commune_id)
    fields.setdefault("title", "")
    _check_course_fields(fields)
    course = Course(commune_id=commune_id, created_by_id=actor.id, created_at=now, **fields)
    db.session.add(course)
    db.session.flush()
    current_app.logger.info("course %s created by %s", course.id, actor.username)
    return course


def update_course(*, actor: User, now: datetime, course: Course, **fields) -> Course:
    """Change a course's description."""
    require_planner(actor, course.commune_id)
    _check_course_fields(fields)
    return _set_fields(course, fields)


def _check_venue_fields(fields: dict, commune_id: int) -> None:
    _tidy_required(fields, "name", "name_missing", _l("Give the venue a name."))
    _check_village(fields.get("village_id"), commune_id)
    if (fields.get("capacity") or 0) < 0:
        raise DomainError("capacity_invalid", _l("The capacity cannot be negative."))
    _check_choice_fields(fields, VENUE_CHOICES)


def create_venue(*, actor: User, now: datetime, commune_id: int, **fields) -> Venue:
    """Register a venue (cultural house, school room, commune hall)."""
    require_planner(actor, commune_id)
    fields.setdefault("name", "")
    _check_venue_fields(fields, commune_id)
    venue = Venue(commune_id=commune_id, **fields)
    db.session.add(venue)
    db.session.flush()
    return venue


def update_venue(*, actor: User, now: datetime, venue: Venue, **fields) -> Venue:
    """Change a venue."""
    require_planner(actor, venue.commune_id)
    _check_venue_fields(fields, venue.commune_id)
    return _set_fields(venue, fields)


def _check_class_fields(fields: dict, commune_id: int) -> None:
    _tidy_required(fields, "name", "class_name_missing", _l("Give the class a name."))
    if "capacity" in fields and (fields["capacity"] is None or fields["capacity"] < 1):
        raise DomainError("capacity_invalid", _l("The class needs at least one seat."))
    if "status" in fields and fields["status"] not in set(ClassStatus):
        raise DomainError("status_invalid", _l("Unknown class status."))
    _check_village(fields.get("village_id"), commune_id)
    _check_choice_fields(fields, CLASS_CHOICES)


def _trainers(ids: set[int], commune_id: int) -> list[User]:
    """The users with these ids, all of them trainers of the commune (else an error)."""
    trainers = list(db.session.scalars(select(User).where(User.id.in_(ids)))) if ids else []
    if len(trainers) != len(ids) or any(
        t.role != Role.TRAINER or t.commune_id != commune_id for t in trainers
    ):
        raise DomainError("trainer_invalid", _l("Choose trainers of this commune."))
    return trainers


def create_class(
    *, actor: User, now: datetime, course: Course, trainer_ids: list[int], **fields
) -> CourseClass:
    """Open a class (cohort) of a course; a trainer who creates it is one of its trainers."""
    require_planner(actor, course.commune_id)
    fields.setdefault("capacity", 0)
    fields.setdefault("name", course.title)
    _check_class_fields(fields, course.commune_id)
    ids = set(trainer_ids) | ({actor.id} if actor.role == Role.TRAINER else set())
    trainers = _trainers(ids, course.commune_id)
    course_class = CourseClass(
        course=course,
        commune_id=course.commune_id,
        trainers=trainers,
        created_by_id=actor.id,
        created_at=now,
        public_token=secrets.token_urlsafe(16),
        **fields,
    )
    db.session.add(course_class)
    db.session.flush()
    current_app.logger.info("class %s created by %s", course_class.id, actor.username)
    return course_class


TRAINER_CLASH_MESSAGE = _l(
    "A trainer you added already teaches elsewhere at the time of this class's sessions."
)


def _added_trainer_clashes(
    course_class: CourseClass, trainers: list[User], now: datetime
) -> tuple[list["Clash"], list[ClassSession]]:
    """Clashes between the class's coming, not cancelled sessions and the other sessions of
    the trainers being added (those who stay were checked when the sessions were planned);
    and the class's sessions concerned."""
    added = [t.id for t in trainers if t not in course_class.trainers]
    coming = [s for s in course_class.sessions if not s.is_cancelled and s.ends_at > now]
    if not added or not coming:
        return [], []
    planned = [PlannedSession(s.starts_at, s.ends_at) for s in coming]
    session_of = {id(p): s for p, s in zip(planned, coming, strict=True)}
    clashes = [
        c
        for c in find_clashes(course_class, None, planned, trainer_ids=added)
        if c.existing.class_id != course_class.id  # the class itself was checked before
    ]
    concerned = {id(c.planned): session_of[id(c.planned)] for c in clashes}
    return clashes, list(concerned.values())


def update_class(
    *,
    actor: User,
    now: datetime,
    course_class: CourseClass,
    trainer_ids=None,
    override_note: str | None = None,
    **fields,
) -> CourseClass:
    """Change a class; a larger capacity promotes people from the waiting list.

    A trainer added to a class must be free at its coming sessions: a clash is refused
    (``session_clash``) unless an organiser overrides it with a note, as for sessions.
    """
    require_runner(actor, course_class)
    _check_class_fields(fields, course_class.commune_id)
    if trainer_ids is not None:
        trainers = _trainers(set(trainer_ids), course_class.commune_id)
        if fields.get("status", course_class.status) != ClassStatus.CANCELLED:
            clashes, sessions = _added_trainer_clashes(course_class, trainers, now)
            _refuse_or_override(
                actor, now, clashes, override_note, sessions, message=TRAINER_CLASH_MESSAGE
            )
        course_class.trainers = trainers
    _set_fields(course_class, fields)
    promote_waiting(course_class, now=now)
    current_app.logger.info("class %s changed by %s", course_class.id, actor.username)
    return course_class


# --- sessions and clashes ----------------------------------------------------------------------


@dataclass
class Clash:
    """An existing session that overlaps a planned one."""

    planned: PlannedSession
    existing: ClassSession
    reason: str  # "trainer", "venue" or "class"


def find_clashes(
    course_class: CourseClass,
    venue_id: int | None,
    planned: list[PlannedSession],
    *,
    ignore_session_id: int | None = None,
    trainer_ids: list[int] | None = None,
) -> list[Clash]:
    """Overlapping, not cancelled sessions of the same class, trainers or venue.

    ``trainer_ids``: the trainers to check (default: the class's own).
    """
    if trainer_ids is None:
        trainer_ids = [t.id for t in course_class.trainers]
    cancelled_classes = select(CourseClass.id).where(CourseClass.status == ClassStatus.CANCELLED)
    clashes = []
    for p in planned:
        stmt = (
            select(ClassSession)
            .where(ClassSession.cancelled_at.is_(None))
            .where(ClassSession.class_id.not_in(cancelled_classes))
            .where(ClassSession.starts_at < p.ends_at, ClassSession.ends_at > p.starts_at)
            .where(
                or_(
                    ClassSession.class_id == course_class.id,
                    ClassSession.class_id.in_(
                        select(class_trainers.c.class_id).where(
                            class_trainers.c.user_id.in_(trainer_ids)
                        )
                    ),
                    ClassSession.venue_id == venue_id if venue_id else false(),
                )
            )
        )
        if ignore_session_id:
            stmt = stmt.where(ClassSession.id != ignore_session_id)
        for existing in db.session.scalars(stmt):
            if existing.class_id == course_class.id:
                reason = "class"  # even a class without trainers cannot meet twice at once
            elif venue_id is not None and existing.venue_id == venue_id:
                reason = "venue"
            else:
                reason = "trainer"
            clashes.append(Clash(p, existing, reason))
    return clashes


def _refuse_or_override(actor, now, clashes, override_note, sessions_out, *, message=None) -> None:
    if not clashes:
        return
    if override_note is None or not may_override_clash(actor):
        error = DomainError(
            "session_clash",
            message or _l("A trainer or the venue is already booked at that time."),
            status=409,
        )
        error.clashes = clashes
        raise error
    if not clean(override_note):  # an override is on the record: say why
        error = DomainError("override_reason_missing", _l("Say why the clash is acceptable."))
        error.clashes = clashes
        raise error
    for session in sessions_out:
        session.clash_override_by_id = actor.id
        session.clash_override_at = now
        session.clash_override_note = clean(override_note)[:300]


def add_sessions(
    *,
    actor: User,
    now: datetime,
    course_class: CourseClass,
    planned: list[PlannedSession],
    venue_id: int | None,
    topic: str = "",
    note: str = "",
    override_note: str | None = None,
) -> list[ClassSession]:
    """Add one session or a whole series; refuse clashes unless an organiser overrides."""
    require_runner(actor, course_class)
    _check_venue(venue_id, course_class)
    _check_order(planned)
    # Look for clashes before making the sessions: the clash query autoflushes, and a new
    # session already attached to the class but not yet added makes SQLAlchemy warn.
    clashes = find_clashes(course_class, venue_id, planned)
    sessions = [
        ClassSession(
            course_class=course_class,
            venue_id=venue_id,
            starts_at=p.starts_at,
            ends_at=p.ends_at,
            topic=clean(topic),
            note=note or "",
            created_at=now,
        )
        for p in planned
    ]
    _refuse_or_override(actor, now, clashes, override_note, sessions)
    db.session.add_all(sessions)
    db.session.flush()
    current_app.logger.info(
        "%d sessions added to class %s by %s", len(sessions), course_class.id, actor.username
    )
    return sessions


def _check_order(planned: list[PlannedSession]) -> None:
    if any(p.ends_at <= p.starts_at for p in planned):
        raise DomainError("time_order", _l("The end time must be after the start time."))


def _check_venue(venue_id: int | None, course_class: CourseClass) -> None:
    if venue_id is None:
        return
    venue = db.session.get(Venue, venue_id)
    if venue is None or venue.commune_id != course_class.commune_id:
        raise DomainError("venue_invalid", _l("Choose a venue of this commune."))


def update_session(
    *,
    actor: User,
    now: datetime,
    session: ClassSession,
    planned: PlannedSession,
    venue_id: int | None,
    topic: str,
    note: str,
    override_note: str | None = None,
) -> ClassSession:
    """Move or change one session (same clash rules as adding)."""
    require_runner(actor, session.course_class)
    if session.is_cancelled:
        raise DomainError("session_cancelled", _l("This session was cancelled."))
    _check_venue(venue_id, session.course_class)
    _check_order([planned])
    clashes = find_clashes(session.course_class, venue_id, [planned], ignore_session_id=session.id)
    _refuse_or_override(actor, now, clashes, override_note, [session])
    session.starts_at, session.ends_at = planned.starts_at, planned.ends_at
    session.venue_id, session.topic, session.note = venue_id, clean(topic), note or ""
    db.session.flush()
    return session


def cancel_session(*, actor: User, now: datetime, session: ClassSession, reason: str) -> None:
    """Cancel one session with a reason; it stays visible as cancelled."""
    require_runner(actor, session.course_class)
    if session.is_cancelled:
        raise DomainError("session_cancelled", _l("This session was already cancelled."))
    if not clean(reason):
        raise DomainError("reason_missing", _l("Say why the session is cancelled."))
    session.cancelled_at, session.cancelled_by_id = now, actor.id
    session.cancel_reason = clean(reason)[:300]
    db.session.flush()
    current_app.logger.info("session %s cancelled by %s", session.id, actor.username)


# --- personal calendar feed --------------------------------------------------------------------


def calendar_token(*, actor: User, now: datetime, renew: bool = False) -> str:
    """The actor's personal calendar-feed token: made on first use, replaced when renewed
    (which stops the old link, e.g. after a phone was lost)."""
    if actor.role not in PLANNERS:
        raise DomainError("not_allowed", _l("You may not plan classes here."), status=403)
    if actor.calendar_token is None or renew:
        actor.calendar_token = secrets.token_urlsafe(32)
        db.session.flush()
        current_app.logger.info(
            "calendar link %s for %s", "renewed" if renew else "made", actor.username
        )
    return actor.calendar_token


# --- course materials ----------------------------------------------------------------------------

#: Types an uploaded material may have, told by the file's first bytes (never by its name).
MATERIAL_SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)
MATERIAL_MAX_BYTES = 10 * 1024 * 1024  # default of the MATERIAL_MAX_BYTES setting


def sniff_material(data: bytes) -> tuple[str, str] | None:
    """(content type, usual extension) of a PDF, PNG or JPEG file; None for anything else."""
    for magic, content_type, extension in MATERIAL_SIGNATURES:
        if data.startswith(magic):
            return content_type, extension
    return None


#: Other usual spellings of each type's extension, kept as the uploader wrote them.
MATERIAL_EXTENSION_ALIASES = {
    ".jpg": {"jpg", "jpeg", "jpe", "jfif"},
    ".pdf": {"pdf"},
    ".png": {"png"},
}
#: What looks like a file extension (anything else after a dot is part of the name).
FILE_EXTENSION = re.compile(r"[A-Za-z0-9]{1,8}")


def _material_filename(filename: str | None, extension: str) -> str:
    """The name without any folder part, NFC, at most 200 characters, ending with the
    extension of the type told by the file's bytes: a PDF sent as "bai.html" is kept as
    "bai.pdf" (downloaded under another extension, a phone would open it with the wrong app).
    """
    name = clean((filename or "").replace("\\", "/").rsplit("/", 1)[-1]).lstrip(".")
    stem, dot, ext = name.rpartition(".")
    if not dot or not FILE_EXTENSION.fullmatch(ext):
        stem, ext = name, ""  # no extension, or a dot inside the name ("Bài 1. Zalo")
    if ext.lower() not in MATERIAL_EXTENSION_ALIASES.get(extension, {extension.lstrip(".")}):
        ext = extension.lstrip(".")
    stem = stem.rstrip(". ") or "tai-lieu"
    return f"{stem[: 199 - len(ext)]}.{ext}"


def material_download_name(material: CourseMaterial) -> str:
    """The name an uploaded file is downloaded under, with its checked type's extension
    (also for files kept before names were corrected on upload)."""
    extension = next(
        (
            ext
            for _, content_type, ext in MATERIAL_SIGNATURES
            if content_type == material.content_type
        ),
        None,
    )
    return _material_filename(material.filename, extension) if extension else material.filename


def add_material(
    *,
    actor: User,
    now: datetime,
    course: Course,
    title: str = "",
    url: str = "",
    filename: str | None = None,
    data: bytes | None = None,
    max_bytes: int | None = None,
) -> CourseMaterial:
    """Attach a link or an uploaded PDF/JPEG/PNG file to a course. Files are kept in the
    database (every app host serves them); their type is checked by their first bytes."""
    require_planner(actor, course.commune_id)
    url, title = clean(url), clean(title)
    if url and data is not None:
        raise DomainError("material_both", _l("Give a link or a file, not both."))
    material = CourseMaterial(course=course, uploaded_by_id=actor.id, uploaded_at=now)
    if data is not None:
        limit = max_bytes or current_app.config.get("MATERIAL_MAX_BYTES", MATERIAL_MAX_BYTES)
        if not data:
            raise DomainError("material_empty", _l("The file is empty."))
        if len(data) > limit:
            raise DomainError(
                "material_too_large",
                _l("The file is larger than %(mb)s MB."),
                mb=f"{limit / 1024 / 1024:g}",
            )
        kind = sniff_material(data)
        if kind is None:
            raise DomainError("material_type", _l("Upload a PDF, JPEG or PNG file."))
        material.content_type, extension = kind
        material.filename = _material_filename(filename, extension)
        material.size, material.data = len(data), data
    elif url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
            raise DomainError(
                "material_url_invalid", _l("Give a web address starting with https://")
            )
        material.url = url
    else:
        raise DomainError("material_missing", _l("Give a link or choose a file."))
    material.title = (title or material.filename or url)[:200]
    db.session.add(material)
    db.session.flush()
    current_app.logger.info(
        "material %s added to course %s by %s", material.id, course.id, actor.username
    )
    return material
