"""Roles and the route guard.

Every view carries the set of roles allowed to use it (``allowed_roles``), so a test can
walk ``app.url_map`` and compare each route with the role table: a route without a guard
fails that test.
"""

from enum import StrEnum
from functools import wraps

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user


class Role(StrEnum):
    ADMIN = "admin"
    ORGANISER = "organiser"
    TRAINER = "trainer"
    MENTOR = "mentor"
    VILLAGE_LEAD = "village_lead"


ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.ORGANISER: _l("Organiser (commune officer)"),
    Role.TRAINER: _l("Trainer"),
    Role.MENTOR: _l("Mentor (digital ambassador)"),
    Role.VILLAGE_LEAD: _l("Village lead"),
}

ALL_STAFF = frozenset(Role)
MANAGERS = frozenset({Role.ADMIN, Role.ORGANISER})
#: Staff who read the people registry and the lists of learners (registers, grids, eligibility,
#: certificates), each scoped to their village or commune. Not mentors: they are volunteers, who
#: will see their own mentees only (see people.queries.scope_people).
PEOPLE_READERS = ALL_STAFF - {Role.MENTOR}
#: Who prints a whole village's learner cards (every villager's learner code): the managers
#: and that village's lead (checked against the village by the cards page).
CARD_PRINTERS = MANAGERS | {Role.VILLAGE_LEAD}
PUBLIC = "public"  # marker: anyone, signed in or not


def roles_required(*roles: Role):
    """Allow the view only to signed-in users holding one of ``roles`` (403 otherwise)."""
    allowed = frozenset(roles)

    def decorator(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                from webapp.extensions import login_manager

                return login_manager.unauthorized()
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        guarded.allowed_roles = allowed
        return guarded

    return decorator


def public(view):
    """Mark a view as open to everybody (the role-table test checks this mark)."""
    view.allowed_roles = PUBLIC
    return view
