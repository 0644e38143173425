"""Who may plan and run classes: the access predicates every scheduling, check-in, learning and
certificate rule asks. Plain functions of the acting user and the object; no request."""

from flask_babel import lazy_gettext as _l

from webapp.accounts.models import User
from webapp.errors import DomainError
from webapp.permissions import MANAGERS, Role
from webapp.scheduling.models import CourseClass

#: Who plans courses, venues, classes and sessions (in their own commune).
PLANNERS = MANAGERS | {Role.TRAINER}


def in_commune(actor: User, commune_id: int | None) -> bool:
    """True when the actor works in that commune (or province-wide)."""
    return actor.works_in(commune_id)


def may_override_clash(actor: User) -> bool:
    """Only managers (organisers, admins) may save a plan despite a clash, with a note."""
    return actor.role in MANAGERS


def can_plan(actor: User, commune_id: int | None) -> bool:
    """Managers and trainers plan courses, venues and classes in their own commune."""
    return actor.role in PLANNERS and in_commune(actor, commune_id)


def require_planner(actor: User, commune_id: int) -> None:
    """Raise 403 unless the actor may plan in that commune (:func:`can_plan`)."""
    if not can_plan(actor, commune_id):
        raise DomainError("not_allowed", _l("You may not plan classes here."), status=403)


def can_run(actor: User, course_class: CourseClass) -> bool:
    """Managers of the commune and the class's own trainers run a class."""
    if actor.role in MANAGERS:
        return in_commune(actor, course_class.commune_id)
    return any(t.id == actor.id for t in course_class.trainers)


def require_runner(actor: User, course_class: CourseClass) -> None:
    """Raise 403 unless the actor may run the class (sessions, enrolment)."""
    if not can_run(actor, course_class):
        raise DomainError(
            "not_allowed", _l("Only this class's trainers or an organiser may do this."), status=403
        )
