"""Certificate commands (``flask certificates …``, on the blueprint's command group)."""

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from werkzeug.security import check_password_hash

from webapp.accounts.models import User
from webapp.certificates import services
from webapp.extensions import db
from webapp.people.demo import DEMO_PASSWORD, demo_exists, demo_logins

#: Who signs the demo's certificates: a made-up name, so that the demo can issue them.
DEMO_SIGNER_NAME = "Nguyễn Văn Minh"


def is_demo_database() -> bool:
    """Whether this is the demo's database: the demo commune, and its first demo account still
    signs in with the password the README publishes (a real commune's database, even one
    named Ngọk Bay, has no such account)."""
    if not demo_exists():
        return False
    username = demo_logins()[0][0]
    user = db.session.scalar(select(User).where(User.username == username))
    return user is not None and check_password_hash(user.password_hash, DEMO_PASSWORD)


def signer_for_run() -> tuple[str, str | None]:
    """The signer's name ``make run`` serves with, and a warning when there is none: the
    configured name; else, on the demo database, :data:`DEMO_SIGNER_NAME`; else none (no
    certificate can be issued)."""
    if name := services.signer_name():
        return name, None
    if is_demo_database():
        return DEMO_SIGNER_NAME, None
    return "", (
        "WARNING: CERTIFICATE_SIGNER_NAME is not configured: no certificate can be issued "
        "until it is. Set the name of the person who signs the certificates in "
        'instance/config.py (CERTIFICATE_SIGNER_NAME = "...") or in the environment '
        "(LOPSO_CERTIFICATE_SIGNER_NAME)."
    )


def install(group: click.Group) -> None:
    """Add the commands to ``group`` (the certificates blueprint's ``flask certificates``)."""
    group.help = "Certificates: who signs them."
    group.add_command(signer_command)


@click.command("signer")
@with_appcontext
def signer_command() -> None:
    """Print the name that signs certificates (the demo's on the demo database), warning on
    stderr when none is configured. `make run` serves the app with it."""
    name, warning = signer_for_run()
    if warning:
        click.secho(warning, fg="yellow", err=True)
    elif not services.signer_name():
        click.echo(f"Demo database: certificates are signed by {name} (a made-up name).", err=True)
    click.echo(name)
