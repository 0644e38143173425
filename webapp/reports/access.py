"""Who reads which figures: the scope of a user's reports.

| user | sees | one level down |
|---|---|---|
| province-wide (admin) | communes side by side | a commune by village |
| admin, organiser of a commune | their commune by village | a village by household |
| village lead | their village by household | — |

Outside it a commune or village is "not found" (404). Trainers and mentors read no reports.
"""

from flask import abort
from sqlalchemy import select

from webapp.accounts.models import User
from webapp.extensions import db
from webapp.people.models import Commune, Village
from webapp.permissions import MANAGERS, Role
from webapp.reports.figures import Scope

#: The roles that read reports (each in their scope).
REPORT_READERS = MANAGERS | {Role.VILLAGE_LEAD}


def _village_of(user: User, village_id: int) -> Village:
    village = db.session.get(Village, village_id)
    if village is None or not user.works_in(village.commune_id):
        abort(404)
    if user.role == Role.VILLAGE_LEAD and village.id != user.village_id:
        abort(404)
    return village


def scope_for(user: User, *, commune_id: int | None = None, village_id: int | None = None) -> Scope:
    """The units the user sees: their whole scope one level down, or the commune or village
    they chose (404 outside their scope)."""
    if user.role == Role.VILLAGE_LEAD:
        village = _village_of(user, village_id or user.village_id or 0)
        return Scope("household", (village.commune_id,), village.id)
    if user.role not in MANAGERS:
        abort(403)
    if village_id:
        village = _village_of(user, village_id)
        return Scope("household", (village.commune_id,), village.id)
    if user.province_wide and not commune_id:
        return Scope("commune", None)
    commune_id = commune_id or user.commune_id
    if commune_id is None or not user.works_in(commune_id):
        abort(404)
    if db.session.get(Commune, commune_id) is None:
        abort(404)
    return Scope("village", (commune_id,))


def villages_for(user: User, commune_ids: tuple[int, ...] | None) -> list[Village]:
    """The villages the user may choose on the dashboard."""
    stmt = select(Village).order_by(Village.commune_id, Village.position)
    if commune_ids is not None:
        stmt = stmt.where(Village.commune_id.in_(commune_ids))
    if user.role == Role.VILLAGE_LEAD:
        stmt = stmt.where(Village.id == user.village_id)
    return list(db.session.scalars(stmt))


def communes_for(user: User) -> list[Commune]:
    stmt = select(Commune).order_by(Commune.name)
    if not user.province_wide:
        stmt = stmt.where(Commune.id == user.commune_id)
    return list(db.session.scalars(stmt))
