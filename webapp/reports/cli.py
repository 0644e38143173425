"""``flask reports …``: bring the reports' spans up to date, or build them all again."""

import click
from flask.cli import AppGroup

reports_group = AppGroup("reports", help="The reports' figures (see docs/reports.md).")


@reports_group.command("refresh")
def refresh_command() -> None:
    """Rebuild the people queued by the triggers (what every reading does first, a few
    thousand at a time), until the queue is empty."""
    from webapp.reports import reach

    click.echo(f"Rebuilt {reach.refresh_all()} people's spans.")


@reports_group.command("rebuild")
def rebuild_command() -> None:
    """Build every person's and household's spans again from the records (a repair)."""
    from webapp.extensions import db
    from webapp.reports import reach

    people = reach.rebuild_everyone()
    db.session.commit()
    click.echo(f"Rebuilt the spans of {people} people.")
