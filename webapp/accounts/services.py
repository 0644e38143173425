"""Account rules: creating users, log-in with throttling, password resets, ending sessions
and disabling accounts."""

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


LOGIN_PAIR = "login-pair"  # one user name from one address: "name|address"
LOGIN_ADDRESS = "login-address"  # every name from one address
LOGIN_NAME = "login-name"  # one name from every address (fixed window)


def _policies() -> tuple[ratelimit.BackoffPolicy, ratelimit.BackoffPolicy]:
    """The backoff of a (name, address) pair and of an address."""
    config = current_app.config
    base, most = config["LOGIN_BACKOFF_SECONDS"], config["LOGIN_BACKOFF_MAX_SECONDS"]
    pair = ratelimit.BackoffPolicy(config["LOGIN_MAX_FAILURES"], base, most, 86_400)
    address = ratelimit.BackoffPolicy(config["LOGIN_MAX_FAILURES_PER_ADDRESS"], base, most, 3600)
    return pair, address


def _login_wait(username: str, where: str, now: datetime, *, known_device: bool) -> int:
    """Seconds this name from this address must wait before trying again (0: may try)."""
    config = current_app.config
    pair, address = _policies()
    window = config["LOGIN_NAME_WINDOW_SECONDS"]
    waits = [
        ratelimit.backoff_wait(LOGIN_PAIR, f"{username}|{where}", pair, now=now),
        ratelimit.backoff_wait(LOGIN_ADDRESS, where, address, now=now),
    ]
    if (
        not known_device  # the name's own browser is never held by strangers' failures
        and ratelimit.count(LOGIN_NAME, username, now=now, window_seconds=window)
        >= config["LOGIN_MAX_FAILURES_PER_NAME"]
    ):
        epoch = int(now.timestamp())
        waits.append(window - epoch % window)
    return max(waits)


def _throttled(wait: int) -> DomainError:
    if wait < 120:
        message = _l("Too many failed attempts. Please wait %(seconds)d seconds and try again.")
        return DomainError("login_throttled", message, status=429, seconds=wait, retry_after=wait)
    message = _l("Too many failed attempts. Please wait %(minutes)d minutes and try again.")
    minutes = -(-wait // 60)
    return DomainError("login_throttled", message, status=429, minutes=minutes, retry_after=wait)


def authenticate(
    username: str, password: str, *, address: str, now: datetime, known_device: bool = False
) -> User:
    """Return the user for a correct name and password, or raise ``login_failed``.

    Unknown names, wrong passwords and disabled accounts get the same answer. Failures slow
    down the one name from the one address (a short wait after a few, doubling), any names
    from that address (spraying), and, far higher, the name from everywhere (a distributed
    guess). ``known_device``: the browser holds a device cookie proving an earlier sign-in
    of this name (OWASP's device cookies); the per-name ceiling does not apply to it, so a
    distributed guess never locks the owner out of their own browser. Someone else's
    failures from another address never hold the owner either way.
    Throttled tries (``login_throttled``, with ``retry_after`` seconds) are not counted.
    """
    username = username.strip().lower()
    where = ratelimit.address_key(address)
    wait = _login_wait(username, where, now, known_device=known_device)
    if wait:
        raise _throttled(wait)
    user = db.session.scalar(select(User).where(User.username == username))
    ok = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    if not (user and ok and user.active):
        pair, per_address = _policies()
        ratelimit.backoff_fail(LOGIN_PAIR, f"{username}|{where}", pair, now=now)
        ratelimit.backoff_fail(LOGIN_ADDRESS, where, per_address, now=now)
        window = current_app.config["LOGIN_NAME_WINDOW_SECONDS"]
        ratelimit.hit(LOGIN_NAME, username, now=now, window_seconds=window)
        raise DomainError("login_failed", LOGIN_FAILED, status=401)
    ratelimit.backoff_clear(LOGIN_PAIR, f"{username}|{where}")
    ratelimit.prune(now=now)
    ratelimit.backoff_prune(now=now)
    user.last_login_at = now
    user.last_login_address = where[:64]
    return user


def clear_login_throttle(user: User) -> None:
    """Forget the failed log-ins counted against ``user``'s name (from every address)."""
    ratelimit.backoff_clear(LOGIN_PAIR, f"{user.username}|", prefix=True)
    ratelimit.reset(LOGIN_NAME, user.username)


def reset_password(*, actor: User | None, user: User, new_password: str, now: datetime) -> None:
    """Set a new password for ``user`` (by a manager, by the CLI, or by the user themself)."""
    if actor is None or actor.id != user.id:
        _check_manages(actor, user)
    _check_new_password(new_password)
    user.password_hash = hash_password(new_password)
    end_sessions(user)  # a cookie copied under the old password stops working
    clear_login_throttle(user)  # the owner may sign in with the new password at once
    current_app.logger.info("password of %s reset by %s at %s", user.username, actor or "cli", now)


def end_sessions(user: User) -> None:
    """End every session of ``user``: cookies issued before no longer sign anyone in."""
    user.session_generation = (user.session_generation or 0) + 1


def _check_manages(actor: User | None, user: User) -> None:
    if actor is not None and not can_manage(actor, user.role, user.commune_id):
        raise DomainError("not_allowed", _l("You may not change this account."), status=403)


def sign_out_everywhere(*, actor: User | None, user: User, now: datetime) -> None:
    """End every session of ``user`` (the user themself, a manager of theirs, or the CLI)."""
    if actor is None or actor.id != user.id:
        _check_manages(actor, user)
    end_sessions(user)
    current_app.logger.info("sessions of %s ended by %s at %s", user.username, actor or "cli", now)


def disable_user(*, actor: User | None, user: User, now: datetime, reason: str = "") -> None:
    """Disable an account: it can no longer sign in and its sessions end at once.

    Nobody disables themself, and the last active administrator stays.
    """
    _check_manages(actor, user)
    if actor is not None and actor.id == user.id:
        raise DomainError("disable_self", _l("You cannot disable your own account."))
    if not user.active:
        raise DomainError("already_disabled", _l("This account is already disabled."))
    if user.role == Role.ADMIN and not db.session.scalar(
        select(User.id).where(User.role == Role.ADMIN, User.active, User.id != user.id).limit(1)
    ):
        raise DomainError("last_admin", _l("The last active administrator cannot be disabled."))
    user.active = False
    user.disabled_at = now
    user.disabled_by_id = actor.id if actor else None
    user.disabled_reason = reason.strip()[:200] or None
    end_sessions(user)
    current_app.logger.info("user %s disabled by %s at %s", user.username, actor or "cli", now)


def enable_user(*, actor: User | None, user: User, now: datetime) -> None:
    """Let a disabled account sign in again (with its password; old sessions stay ended)."""
    _check_manages(actor, user)
    if user.active:
        raise DomainError("already_active", _l("This account is already active."))
    user.active = True
    user.disabled_at = user.disabled_by_id = user.disabled_reason = None
    clear_login_throttle(user)
    current_app.logger.info("user %s enabled by %s at %s", user.username, actor or "cli", now)


def users_visible_to(actor: User) -> Select:
    """Accounts the actor may see: all for province-wide admins, else their commune's."""
    stmt = select(User).order_by(User.role, User.username)
    if not actor.province_wide:
        stmt = stmt.where(User.commune_id == actor.commune_id)
    return stmt
