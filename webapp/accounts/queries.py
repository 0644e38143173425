"""Read-side queries for accounts, scoped to what the acting user may see."""

from flask import abort

from webapp.accounts import services
from webapp.accounts.models import User
from webapp.extensions import db


def get_visible_user(actor: User, user_id: int) -> User | None:
    """The account, if the actor may see it (see :func:`services.users_visible_to`)."""
    return db.session.scalar(services.users_visible_to(actor).where(User.id == user_id))


def get_managed_user(actor: User, user_id: int) -> User:
    """An account the actor sees (else 404) and may change (else 403)."""
    user = get_visible_user(actor, user_id) or abort(404)
    if not services.can_manage(actor, user.role, user.commune_id):
        abort(403)
    return user
