"""Migration b4print0001 on real rows (SQLite, and PostgreSQL with TEST_DATABASE_URL): the
print log's old kinds ("single"/"bulk", every PDF a "print") become what was done ("download"
or "print"), and each snapshot gains the number of its framework version; and back."""

import importlib.util
from pathlib import Path

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import select

from tests.certificates.conftest import NHUNG, UOT
from tests.factories import NOW
from webapp.accounts.models import User
from webapp.certificates import services
from webapp.certificates.models import Certificate, PrintKind, PrintLog
from webapp.extensions import db
from webapp.people.models import Person
from webapp.scheduling.models import CourseClass

VERSIONS = Path(__file__).resolve().parents[2] / "webapp" / "migrations" / "versions"


def _migration():
    (path,) = VERSIONS.glob("*_b4print0001_*.py")
    spec = importlib.util.spec_from_file_location("b4print0001", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(step) -> None:
    """Run the migration's upgrade or downgrade on the test database, in one transaction."""
    with db.engine.begin() as connection:
        context = MigrationContext.configure(connection)
        with Operations.context(context):
            step()


def _state():
    db.session.expire_all()
    logs = db.session.scalars(select(PrintLog).order_by(PrintLog.id)).all()
    certificates = db.session.scalars(select(Certificate).order_by(Certificate.id)).all()
    return (
        [(log.kind, log.scope) for log in logs],
        [c.snapshot.get("framework_version_number", "missing") for c in certificates],
    )


def test_the_migration_renames_the_kinds_and_numbers_the_versions(app, world, cert_world):
    migration = _migration()
    assert (migration.revision, migration.down_revision) == ("b4print0001", "b2phone0001")
    with app.app_context():
        actor = db.session.get(User, world.users["organiser"])
        course_class = db.session.get(CourseClass, cert_world.class_id)
        for name in (UOT, NHUNG):
            person = db.session.get(Person, cert_world.people[name])
            services.issue(actor=actor, now=NOW, person=person, course_class=course_class)
        uot, nhung = services.class_certificates(course_class)
        class_scope = f"class:{course_class.id}"
        log = dict(actor=actor, now=NOW)
        services.log_prints(**log, certificates=[nhung], scope="certificate")
        services.log_prints(**log, certificates=[uot, nhung], scope=class_scope)
        services.log_prints(**log, certificates=[uot], scope="print_view", kind=PrintKind.PRINT)
        db.session.commit()
        now = _state()
        db.session.close()
        assert now == (
            [
                ("download", "certificate"),
                ("download", class_scope),
                ("download", class_scope),
                ("print", "print_view"),
            ],
            [1, 1],
        )

        _run(migration.downgrade)  # the rows as they were written before the migration
        before = _state()
        db.session.close()
        assert before == (
            [
                ("single", "certificate"),
                ("bulk", class_scope),
                ("bulk", class_scope),
                ("single", "print_view"),
            ],
            ["missing", "missing"],
        )

        _run(migration.upgrade)
        assert _state() == now
        _run(migration.upgrade)  # a second run changes nothing
        assert _state() == now
