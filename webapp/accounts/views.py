"""Log-in, log-out and the user administration pages."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from itsdangerous import BadData, URLSafeTimedSerializer

from webapp.accounts import queries, services
from webapp.accounts.forms import DisableUserForm, LoginForm, ResetPasswordForm, UserForm
from webapp.accounts.models import User
from webapp.errors import DomainError
from webapp.extensions import db, login_manager
from webapp.forms import attempt, options, page_status
from webapp.permissions import ALL_STAFF, MANAGERS, ROLE_LABELS, Role, public, roles_required
from webapp.security import safe_next
from webapp.timeutil import utcnow

bp = Blueprint("accounts", __name__)

login_manager.login_view = "accounts.login"
login_manager.login_message = None  # the log-in page explains itself


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The user of a session (or remember-me) cookie, or None when the cookie was issued
    before the user's session generation was raised (signed out, new password, disabled)."""
    user_id, _, generation = session_id.partition(":")
    if not all(
        part.isascii() and part.isdigit() and len(part) < 10 for part in (user_id, generation)
    ):
        return None  # an old cookie (id only) or junk
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_generation != int(generation):
        return None
    return user


DEVICE_COOKIE = "lopso_known"  # the names that signed in on this browser (signed)
DEVICE_COOKIE_DAYS = 365
DEVICE_COOKIE_NAMES = 5  # a shared commune computer may be used by a few officers


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="known-device")


def _known_names() -> list[str]:
    """The user names whose earlier sign-in on this browser its device cookie proves."""
    cookie = request.cookies.get(DEVICE_COOKIE)
    if not cookie:
        return []
    try:
        names = _device_serializer().loads(cookie, max_age=DEVICE_COOKIE_DAYS * 86_400)
    except BadData:
        return []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def _remember_device(response, username: str) -> None:
    names = [username] + [n for n in _known_names() if n != username]
    value = _device_serializer().dumps(names[:DEVICE_COOKIE_NAMES])
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=DEVICE_COOKIE_DAYS * 86_400,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )


@bp.route("/auth/login", methods=["GET", "POST"])
@public
def login():
    """Sign in with user name and password."""
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(
                form.username.data,
                form.password.data,
                address=request.remote_addr or "",
                now=utcnow(),
                known_device=form.username.data.strip().lower() in _known_names(),
            )
        except DomainError as error:
            db.session.commit()  # keep the counted failure
            form.form_errors.append(error.message)
            headers = (
                {"Retry-After": str(error.params["retry_after"])}
                if "retry_after" in error.params
                else {}
            )
            return render_template("accounts/login.html", form=form), error.status, headers
        db.session.commit()
        login_user(user)
        response = redirect(safe_next(request.args.get("next"), url_for("site.index")))
        _remember_device(response, user.username)
        return response
    status = 400 if form.errors else 200
    return render_template("accounts/login.html", form=form), status


@bp.post("/auth/logout")
@roles_required(*ALL_STAFF)
def logout():
    """Sign out, on every device: a copied cookie of any of the user's sessions stops working."""
    services.sign_out_everywhere(actor=current_user, user=current_user, now=utcnow())
    db.session.commit()
    logout_user()
    flash(_("You have signed out on every device."), "success")
    return redirect(url_for("site.index"))


@bp.get("/users")
@roles_required(*MANAGERS)
def user_list():
    """Accounts the manager may see."""
    users = db.session.scalars(services.users_visible_to(current_user)).all()
    return render_template(
        "accounts/users.html",
        users=users,
        role_labels=ROLE_LABELS,
        manages=lambda user: services.can_manage(current_user, user.role, user.commune_id),
    )


@bp.route("/users/<int:user_id>/disable", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def user_disable(user_id: int):
    """Disable an account (with a reason): it can no longer sign in, its sessions end now."""
    user = queries.get_managed_user(current_user, user_id)
    form = DisableUserForm()
    if form.validate_on_submit():
        with attempt(form) as refused:
            services.disable_user(
                actor=current_user, user=user, now=utcnow(), reason=form.reason.data or ""
            )
        if not refused:
            flash(
                _("Account %(name)s disabled; its sessions have ended.", name=user.username),
                "success",
            )
            return redirect(url_for("accounts.user_list"))
    status = 400 if form.errors else 200
    return render_template("accounts/disable.html", form=form, user=user), status


@bp.post("/users/<int:user_id>/enable")
@roles_required(*MANAGERS)
def user_enable(user_id: int):
    """Let a disabled account sign in again."""
    user = queries.get_managed_user(current_user, user_id)
    with attempt(flashed=True) as refused:
        services.enable_user(actor=current_user, user=user, now=utcnow())
    if not refused:
        flash(_("Account %(name)s can sign in again.", name=user.username), "success")
    return redirect(url_for("accounts.user_list"))


@bp.post("/users/<int:user_id>/sign-out")
@roles_required(*MANAGERS)
def user_sign_out(user_id: int):
    """End every session of an account (a lost phone, a shared computer left signed in)."""
    user = queries.get_managed_user(current_user, user_id)
    services.sign_out_everywhere(actor=current_user, user=user, now=utcnow())
    db.session.commit()
    if user.id == current_user.id:
        login_user(user)  # the manager's own sessions elsewhere end; this one goes on
    flash(_("Every session of %(name)s has ended.", name=user.username), "success")
    return redirect(url_for("accounts.user_list"))


def _user_form() -> UserForm:
    from webapp.people.queries import communes_for, villages_for

    form = UserForm()
    roles = (
        list(Role)
        if current_user.role == Role.ADMIN
        else [Role.TRAINER, Role.MENTOR, Role.VILLAGE_LEAD]
    )
    form.role.choices = options([(r.value, str(ROLE_LABELS[r])) for r in roles])
    form.commune_id.choices = options([(c.id, c.name) for c in communes_for(current_user)])
    form.village_id.choices = options(
        [("", _("— none —"))]
        + [(v.id, f"{v.name} ({v.commune.name})") for v in villages_for(current_user)]
    )
    return form


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def user_new():
    """Create an account for a trainer, mentor, village lead (or, for admins, anyone)."""
    form = _user_form()
    if form.validate_on_submit():
        with attempt(form) as refused:
            user = services.create_user(
                actor=current_user,
                now=utcnow(),
                username=form.username.data,
                full_name=form.full_name.data,
                password=form.password.data,
                role=form.role.data,
                commune_id=form.commune_id.data,
                village_id=form.village_id.data,
                province_wide=form.province_wide.data and current_user.role == Role.ADMIN,
            )
        if not refused:
            flash(_("Account %(name)s created.", name=user.username), "success")
            return redirect(url_for("accounts.user_list"))
    status = 400 if form.errors else 200
    return render_template("accounts/user_form.html", form=form), status


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def user_password(user_id: int):
    """Set a new password for an account the manager is responsible for."""
    user = queries.get_visible_user(current_user, user_id) or abort(404)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        with attempt(form) as refused:
            services.reset_password(
                actor=current_user, user=user, new_password=form.password.data, now=utcnow()
            )
        if not refused:
            if user.id == current_user.id:
                login_user(user)  # their other sessions end; this one goes on
            flash(_("New password set for %(name)s.", name=user.username), "success")
            return redirect(url_for("accounts.user_list"))
    return render_template("accounts/password.html", form=form, user=user), page_status(form)
