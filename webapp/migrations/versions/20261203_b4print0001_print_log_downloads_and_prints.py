"""certificates: the print log says what was done (a PDF downloaded, or the print view
opened to print); certificates print their framework version by its number

``certificate_prints.kind`` was "single" or "bulk" (which the scope already tells) and every
PDF download counted as a print. It is now "download" (any PDF: one certificate, a class's,
a village's) or "print" (the print view). Each certificate's snapshot gains
``framework_version_number``, the number the app names its version by ("phiên bản 1"), taken
from the version it was issued under (a version's number never changes); the label
("0.1-draft") stays in the snapshot as it was.

No column changes: only data.

Revision ID: b4print0001
Revises: b2phone0001
Create Date: 2026-12-03 09:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b4print0001"
down_revision = "b2phone0001"
branch_labels = None
depends_on = None

prints = sa.table(
    "certificate_prints", sa.column("kind", sa.String(10)), sa.column("scope", sa.String(40))
)
certificates = sa.table(
    "certificates",
    sa.column("id", sa.Integer),
    sa.column("framework_version_id", sa.Integer),
    sa.column("snapshot", sa.JSON),
)
versions = sa.table(
    "framework_versions", sa.column("id", sa.Integer), sa.column("number", sa.Integer)
)

SINGLE_SCOPES = ("certificate", "print_view")


def _snapshots(connection):
    stmt = sa.select(certificates.c.id, certificates.c.snapshot, versions.c.number).join(
        versions, versions.c.id == certificates.c.framework_version_id, isouter=True
    )
    return connection.execute(stmt).all()


def _write(connection, certificate_id: int, snapshot: dict) -> None:
    connection.execute(
        certificates.update().where(certificates.c.id == certificate_id).values(snapshot=snapshot)
    )


def upgrade():
    op.execute(
        prints.update().values(
            kind=sa.case((prints.c.scope == "print_view", "print"), else_="download")
        )
    )
    connection = op.get_bind()
    for certificate_id, snapshot, number in _snapshots(connection):
        if snapshot is not None and "framework_version_number" not in snapshot:
            _write(connection, certificate_id, {**snapshot, "framework_version_number": number})


def downgrade():
    op.execute(
        prints.update().values(
            kind=sa.case((prints.c.scope.in_(SINGLE_SCOPES), "single"), else_="bulk")
        )
    )
    connection = op.get_bind()
    for certificate_id, snapshot, _number in _snapshots(connection):
        if snapshot and "framework_version_number" in snapshot:
            rest = {k: v for k, v in snapshot.items() if k != "framework_version_number"}
            _write(connection, certificate_id, rest)
