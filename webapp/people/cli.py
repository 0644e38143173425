"""People commands: the demo commune."""

import click
from flask.cli import with_appcontext

from webapp.extensions import db
from webapp.people import demo
from webapp.timeutil import utcnow


@click.command("seed-demo")
@click.option(
    "--if-empty",
    is_flag=True,
    help="Only when the database has no commune and no user yet (used by `make run`).",
)
@with_appcontext
def seed_demo_command(if_empty: bool) -> None:
    """Load the demo commune Ngọk Bay with people and demo accounts (idempotent)."""
    from webapp.checkin.demo import seed_attendance
    from webapp.learning.demo import seed_evidence
    from webapp.learning.framework import seed_framework
    from webapp.scheduling.demo import seed_schedule

    now = utcnow()
    # The framework draft is the first version everywhere (until an organiser imports another).
    if seed_framework(now):
        click.echo("Framework draft imported as version 1.")
    if if_empty and not demo.database_is_empty():
        click.echo("The database already has data; demo not loaded.")
        return
    created = demo.seed_demo(now=now)
    if created["communes"] == 0:
        click.echo("The demo commune is already there; nothing to do.")
    else:
        schedule = seed_schedule(demo.demo_commune(), now=now)
        schedule["attendance"] = seed_attendance(demo.demo_commune(), now=now)
        schedule["evidence"] = seed_evidence(demo.demo_commune(), now=now)
        click.echo(
            "Demo commune created: {villages} villages, {households} households, "
            "{persons} persons, {users} accounts.".format(**created)
        )
        click.echo(
            "Demo schedule: {courses} courses, {classes} classes, {sessions} sessions, "
            "{enrolments} enrolments, {attendance} attendance records, {evidence} observations "
            "of competence.".format(**schedule)
        )
    db.session.commit()
    click.echo(f"Demo log-ins (password: {demo.DEMO_PASSWORD}):")
    for username, role in demo.demo_logins():
        click.echo(f"  {username:<14} {role}")
