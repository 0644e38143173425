"""`flask framework import FILE.yaml`: publish a framework file as a new version."""

import click
from flask.cli import with_appcontext

from webapp.extensions import db
from webapp.text import clean


@click.group("framework")
def framework_group() -> None:
    """The competency framework (versioned)."""


@framework_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--note", default="", help="Why this version (shown on /framework).")
@with_appcontext
def import_command(path: str, note: str) -> None:
    """Check FILE and publish it as a new framework version (nothing is written on error)."""
    from webapp.learning.framework import FrameworkFileError, import_file
    from webapp.timeutil import utcnow

    try:
        version = import_file(path, now=utcnow(), note=clean(note))
        db.session.commit()
    except FrameworkFileError as error:
        db.session.rollback()
        where = f"{path}:{error.line}: " if error.line else f"{path}: "
        raise click.ClickException(where + error.reason) from None
    click.echo(
        f"Framework version {version.number} ({version.label or 'no label'}): "
        f"{len(version.areas)} areas, {len(version.competencies)} competencies, "
        f"{len(version.rules)} certificate rules."
    )
