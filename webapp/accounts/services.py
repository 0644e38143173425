"""Account rules: creating users, log-in with throttling, password resets."""

import re
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select
from werkzeug.security import check_password_hash, generate_password_hash

from webapp import ratelimit
from webapp.accounts.models import User
from webapp.errors import DomainError
from webapp.extensions import db
from webapp.permissions import Role

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD = 8
# Checked against when the user name is unknown, so both failures cost the same time:
# hashed with the configured method, once per method.
_DUMMY_HASHES: dict[str, str] = {}


def _dummy_hash() -> str:
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("not-a-real-password", method=method)
    return _DUMMY_HASHES[method]


LOGIN_FAILED = _l("Wrong user name or password.")


def hash_password(password: str) -> str:
    """Hash with the configured method (scrypt in production)."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def _check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise DomainError(
            "password_too_short",
            _l("The password must have at least %(n)d characters."),
            n=MIN_PASSWORD,
        )


def can_manage(actor: User, role: str, commune_id: int | None) -> bool:
    """Admins manage everyone; organisers manage field roles in their own commune."""
    if actor.role == Role.ADMIN:
        return True
    return (
        actor.role == Role.ORGANISER
        and role in (Role.TRAINER, Role.MENTOR, Role.VILLAGE_LEAD)
        and actor.works_in(commune_id)
    )


def create_user(
    *,
    actor: User | None,
    now: datetime,
    username: str,
    full_name: str,
    password: str,
    role: str,
    commune_id: int | None = None,
    village_id: int | None = None,
    province_wide: bool = False,
) -> User:
    """Create an account; ``actor`` None means the command line (first admin)."""
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise DomainError(
            "username_invalid",
            _l("User names use 3-64 lower-case letters, digits, dots, dashes or underscores."),
        )
    if role not in set(Role):
        raise DomainError("role_invalid", _l("Unknown role."))
    if actor is not None and not can_manage(actor, role, commune_id):
        raise DomainError("not_allowed", _l("You may not create this kind of account."), status=403)
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise DomainError("username_taken", _l("This user name is already taken."))
    _check_new_password(password)
    if role == Role.VILLAGE_LEAD and village_id is None:
        raise DomainError("village_required", _l("A village lead needs a village."))
    if commune_id is None and not province_wide:
        raise DomainError("commune_required", _l("Choose the commune this person works in."))
    user = User(
        username=username,
        full_name=full_name,
        password_hash=hash_password(password),
        role=role,
        commune_id=commune_id,
        village_id=village_id if role == Role.VILLAGE_LEAD else None,
        province_wide=province_wide,
        active=True,
        created_at=now,
    )
    db.session.add(user)
    db.session.flush()
    current_app.logger.info("user %s (%s) created by %s", username, role, actor or "cli")
    return user


def authenticate(username: str, password: str, *, address: str, now: datetime) -> User:
    """Return the user for a correct name and password, or raise ``login_failed``.

    Unknown names, wrong passwords and disabled accounts get the same answer. Failures are
    counted per name and per address; past the limit the answer is ``login_throttled``.
    """
    config = current_app.config
    window = config["LOGIN_WINDOW_SECONDS"]
    username = username.strip().lower()
    if (
        ratelimit.count("login-name", username, now=now, window_seconds=window)
        >= config["LOGIN_MAX_FAILURES"]
        or ratelimit.count("login-address", address, now=now, window_seconds=window)
        >= config["LOGIN_MAX_FAILURES_PER_ADDRESS"]
    ):
        raise DomainError(
            "login_throttled",
            _l("Too many failed attempts. Please wait %(minutes)d minutes and try again."),
            status=429,
            minutes=window // 60,
        )
    user = db.session.scalar(select(User).where(User.username == username))
    ok = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    if not (user and ok and user.active):
        ratelimit.hit("login-name", username, now=now, window_seconds=window)
        ratelimit.hit("login-address", address, now=now, window_seconds=window)
        raise DomainError("login_failed", LOGIN_FAILED, status=401)
    ratelimit.reset("login-name", username)
    ratelimit.prune(now=now)
    user.last_login_at = now
    return user


def reset_password(*, actor: User | None, user: User, new_password: str, now: datetime) -> None:
    """Set a new password for ``user`` (by a manager, by the CLI, or by the user themself)."""
    if (
        actor is not None
        and actor.id != user.id
        and not can_manage(actor, user.role, user.commune_id)
    ):
        raise DomainError("not_allowed", _l("You may not change this account."), status=403)
    _check_new_password(new_password)
    user.password_hash = hash_password(new_password)
    current_app.logger.info("password of %s reset by %s at %s", user.username, actor or "cli", now)


def users_visible_to(actor: User) -> Select:
    """Accounts the actor may see: all for province-wide admins, else their commune's."""
    stmt = select(User).order_by(User.role, User.username)
    if not actor.province_wide:
        stmt = stmt.where(User.commune_id == actor.commune_id)
    return stmt
