"""Account commands."""

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from webapp.accounts import services
from webapp.errors import DomainError
from webapp.extensions import db
from webapp.permissions import Role
from webapp.text import clean
from webapp.timeutil import utcnow


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.ADMIN.value)
@click.option("--full-name", default="", help="Shown in the interface; defaults to the user name.")
@click.option("--commune", "commune_code", help="Commune code, e.g. NGOKBAY.")
@click.option("--province-wide", is_flag=True, help="Sees every commune (default for admins).")
@click.password_option(help="Asked for when not given.")
@with_appcontext
def create_user_command(username, role, full_name, commune_code, province_wide, password):
    """Create an account (use it for the first admin)."""
    from webapp.people.models import Commune

    commune_id = None
    if commune_code:
        commune_id = db.session.scalar(
            select(Commune.id).where(Commune.code == commune_code.upper())
        )
        if commune_id is None:
            raise click.ClickException(f"Unknown commune code: {commune_code}")
    try:
        user = services.create_user(
            actor=None,
            now=utcnow(),
            username=username,
            full_name=clean(full_name) or username,
            password=password,
            role=role,
            commune_id=commune_id,
            province_wide=province_wide or (role == Role.ADMIN and commune_id is None),
        )
    except DomainError as error:
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Created {user.username} ({user.role}).")


def _user(username: str):
    from webapp.accounts.models import User

    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise click.ClickException(f"Unknown user: {username}")
    return user


@click.command("disable-user")
@click.argument("username")
@click.option("--reason", default="", help="Kept with the account, shown to managers.")
@with_appcontext
def disable_user_command(username, reason):
    """Disable an account: it cannot sign in and its sessions end at once."""
    user = _user(username)
    try:
        services.disable_user(actor=None, user=user, now=utcnow(), reason=clean(reason))
    except DomainError as error:
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Disabled {user.username}; its sessions have ended.")


@click.command("enable-user")
@click.argument("username")
@with_appcontext
def enable_user_command(username):
    """Let a disabled account sign in again."""
    user = _user(username)
    try:
        services.enable_user(actor=None, user=user, now=utcnow())
    except DomainError as error:
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Enabled {user.username}.")


@click.command("sign-out-user")
@click.argument("username")
@with_appcontext
def sign_out_user_command(username):
    """End every session of an account (it may sign in again with its password)."""
    user = _user(username)
    services.sign_out_everywhere(actor=None, user=user, now=utcnow())
    db.session.commit()
    click.echo(f"Every session of {user.username} has ended.")
