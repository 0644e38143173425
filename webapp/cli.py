"""Registers every domain's command-line commands on the app."""

import click
from flask import Flask
from flask.cli import with_appcontext


def register(app: Flask) -> None:
    """Add the commands to ``flask``."""
    from webapp.accounts.cli import (
        create_user_command,
        disable_user_command,
        enable_user_command,
        sign_out_user_command,
    )
    from webapp.learning.cli import framework_group
    from webapp.people.cli import seed_demo_command

    app.cli.add_command(create_user_command)
    for command in (disable_user_command, enable_user_command, sign_out_user_command):
        app.cli.add_command(command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(prune_command)
    app.cli.add_command(framework_group)


@click.command("prune")
@with_appcontext
def prune_command() -> None:
    """Delete what is kept only for a while: stale import files, old log-in counters.

    Run it daily (cron or a systemd timer) on one host.
    """
    from webapp import ratelimit
    from webapp.extensions import db
    from webapp.people.importer import prune_stale
    from webapp.timeutil import utcnow

    now = utcnow()
    files = prune_stale(now=now)
    ratelimit.prune(now=now)
    ratelimit.backoff_prune(now=now)
    db.session.commit()
    click.echo(f"Removed {files} import files never imported within a week.")
