"""``flask backup`` and ``flask restore`` (the logic is in :mod:`webapp.backups`)."""

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from webapp import backups
from webapp.config import database_url
from webapp.timeutil import utcnow

PASSPHRASE_FILE = click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"Read the passphrase from this file (first line); or set {backups.PASSPHRASE_ENV}.",
)


def _passphrase(passphrase_file: Path | None) -> str | None:
    if passphrase_file is not None:
        lines = passphrase_file.read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""
    return os.environ.get(backups.PASSPHRASE_ENV) or None


@click.command("backup")
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@PASSPHRASE_FILE
@click.option(
    "--as-sqlite",
    is_flag=True,
    help="PostgreSQL only: copy every table into a SQLite file instead of running pg_dump "
    "(a backup that restores into SQLite or PostgreSQL).",
)
@with_appcontext
def backup_command(output: Path, passphrase_file: Path | None, as_sqlite: bool) -> None:
    """Write a consistent copy of the database (import files and materials included) while
    the app runs; encrypted when a passphrase is given."""
    passphrase = _passphrase(passphrase_file)
    try:
        header = backups.backup(
            current_app.config["SQLALCHEMY_DATABASE_URI"],
            output,
            now=utcnow(),
            passphrase=passphrase,
            as_sqlite=as_sqlite,
        )
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from None
    state = "encrypted" if header.encrypted else "NOT encrypted"
    click.echo(
        f"Backup written to {output} ({header.engine}, revision {','.join(header.revisions)}, "
        f"{output.stat().st_size:,} bytes, {state})."
    )


@click.command("restore")
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--database",
    "target",
    help="The empty database to restore into (a URL); default: the app's database.",
)
@PASSPHRASE_FILE
@with_appcontext
def restore_command(backup_file: Path, target: str | None, passphrase_file: Path | None) -> None:
    """Restore a backup into an empty database (SQLite or PostgreSQL); a database that
    holds anything is refused."""
    url = database_url(target) if target else current_app.config["SQLALCHEMY_DATABASE_URI"]
    try:
        header = backups.restore(backup_file, url, passphrase=_passphrase(passphrase_file))
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Restored the {header.engine} backup of {header.created_at} "
        f"(revision {','.join(header.revisions)}) into {backups.engine_name(url)}. "
        "If this release is newer than the backup, run `flask db upgrade` next."
    )
