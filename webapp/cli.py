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
    from webapp.reports.cli import reports_group

    app.cli.add_command(create_user_command)
    for command in (disable_user_command, enable_user_command, sign_out_user_command):
        app.cli.add_command(command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(prune_command)
    from webapp.backups_cli import backup_command, restore_command

    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(framework_group)
    app.cli.add_command(reports_group)


@click.command("prune")
@with_appcontext
def prune_command() -> None:
    """Delete what is kept only for a while: stale import files, old log-in counters, audit
    events past AUDIT_RETENTION_DAYS; and refresh SQLite's planner statistics.

    Run it daily (cron or a systemd timer) on one host.
    """
    from flask import current_app

    from webapp import ratelimit
    from webapp.checkin import offline
    from webapp.extensions import db, refresh_statistics
    from webapp.people import audit
    from webapp.people.importer import prune_stale
    from webapp.timeutil import utcnow

    now = utcnow()
    files = prune_stale(now=now)
    days = current_app.config.get("AUDIT_RETENTION_DAYS", audit.DEFAULT_RETENTION_DAYS)
    events = audit.prune(now=now, days=days)
    offline.prune(now=now)
    ratelimit.prune(now=now)
    ratelimit.backoff_prune(now=now)
    db.session.commit()
    refresh_statistics()
    db.session.commit()
    click.echo(f"Removed {files} import files never imported within a week.")
    click.echo(f"Removed {events} audit events older than {days} days.")


@click.command("seed-demo")
@click.option(
    "--if-empty",
    is_flag=True,
    help="Only when the database has no commune and no user yet (used by `make run`).",
)
@with_appcontext
def seed_demo_command(if_empty: bool) -> None:
    """Load the demo commune Ngọk Bay with people and demo accounts (idempotent).

    Every domain seeds its part: people and accounts, then the framework, the schedule,
    attendance, evidence and the mentoring network.
    """
    from webapp.checkin.demo import seed_attendance
    from webapp.extensions import db
    from webapp.learning.demo import seed_evidence
    from webapp.learning.framework import seed_framework
    from webapp.mentoring.demo import seed_mentoring
    from webapp.people import demo
    from webapp.reports.services import seed_indicators
    from webapp.scheduling.demo import open_today, seed_schedule
    from webapp.timeutil import utcnow

    now = utcnow()
    # The framework draft is the first version everywhere (until an organiser imports another).
    if seed_framework(now):
        click.echo("Framework draft imported as version 1.")
    if seed_indicators(now=now):
        click.echo("The plan's indicators for 2025 and 2026 loaded.")
        db.session.commit()
    if if_empty and not demo.database_is_empty() and not demo.demo_exists():
        click.echo("The database already has data; demo not loaded.")
        return
    created = demo.seed_demo(now=now)
    if created["communes"] == 0:
        click.echo("The demo commune is already there.")
    else:
        schedule = seed_schedule(demo.demo_commune(), now=now)
        schedule["attendance"] = seed_attendance(demo.demo_commune(), now=now)
        schedule["evidence"] = seed_evidence(demo.demo_commune(), now=now)
        network = seed_mentoring(demo.demo_commune(), now=now)
        click.echo(
            "Demo commune created: {villages} villages, {households} households, "
            "{persons} persons, {users} accounts.".format(**created)
        )
        click.echo(
            "Demo schedule: {courses} courses, {classes} classes, {sessions} sessions, "
            "{enrolments} enrolments, {attendance} attendance records, {evidence} observations "
            "of competence.".format(**schedule)
        )
        click.echo(
            "Demo mentoring: {mentors} mentors (Đại sứ số), {mentees} mentees, {meetings} "
            "meetings.".format(**network)
        )
    opened = open_today(demo.demo_commune(), now=now)
    db.session.commit()
    if opened:
        click.echo(f"{opened} demo sessions open for check-in now (see each trainer's day).")
    click.echo(f"Demo log-ins (password: {demo.DEMO_PASSWORD}):")
    for username, role in demo.demo_logins():
        click.echo(f"  {username:<14} {role}")
