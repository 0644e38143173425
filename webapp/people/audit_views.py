"""The audit trail for administrators: who viewed, exported, printed or changed a person's
data (``/people/<id>/audit``), and what one user did (``/users/<id>/audit``).

Admins only; an admin of a commune sees that commune's events (and its people and users:
404 for others), a province-wide admin every event. The newest :data:`LIMIT` events are shown,
on a page that prints."""

from flask import Blueprint, abort, render_template
from flask_login import current_user

from webapp.accounts import queries as account_queries
from webapp.people import audit, queries
from webapp.people.privacy_models import AUDIT_ACTION_LABELS
from webapp.permissions import ROLE_LABELS, Role, roles_required

bp = Blueprint("people_audit", __name__)

LIMIT = 500


def _commune_filter() -> int | None:
    """The commune whose events the admin reads (None: every commune)."""
    return None if current_user.province_wide else current_user.commune_id


def _page(template: str, events: list, **context) -> str:
    return render_template(
        template,
        events=events[:LIMIT],
        more=len(events) > LIMIT,
        limit=LIMIT,
        action_labels=AUDIT_ACTION_LABELS,
        role_labels=ROLE_LABELS,
        what_label=audit.what_label,
        **context,
    )


@bp.get("/people/<int:person_id>/audit")
@roles_required(Role.ADMIN)
def person(person_id: int):
    """The person's audit trail: when, who, what was done, from where."""
    found = queries.get_person(current_user, person_id) or abort(404)
    events = audit.for_person(found.id, limit=LIMIT + 1, commune_id=_commune_filter())
    return _page("people/audit_person.html", events, person=found)


@bp.get("/users/<int:user_id>/audit")
@roles_required(Role.ADMIN)
def user(user_id: int):
    """What one user viewed, exported, printed or changed, newest first."""
    found = account_queries.get_visible_user(current_user, user_id) or abort(404)
    events = audit.for_user(found.id, limit=LIMIT + 1, commune_id=_commune_filter())
    return _page("people/audit_user.html", events, user=found, people=audit.people_of(events))
