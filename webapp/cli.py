"""Registers every domain's command-line commands on the app."""

from flask import Flask


def register(app: Flask) -> None:
    """Add the commands to ``flask``."""
    from webapp.accounts.cli import create_user_command
    from webapp.people.cli import seed_demo_command

    app.cli.add_command(create_user_command)
    app.cli.add_command(seed_demo_command)
