"""people: personal data rights — consent notices (versioned) and consents, a person's
requests with deadlines, an audit trail that is never changed; people withdrawn, restricted or
erased

Revision ID: e1privacy0001
Revises: d3report0003
Create Date: 2026-12-04 19:30:00

"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "e1privacy0001"
down_revision = "d3report0003"
branch_labels = None
depends_on = None

# The notice of version 1 is frozen text (a new version is a new constant).
from webapp.people.notice import NOTICE_EN, NOTICE_VI  # noqa: E402


def upgrade():
    with op.batch_alter_table("persons") as batch_op:
        batch_op.add_column(sa.Column("consent_withdrawn_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("restricted_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True)))
    notices = op.create_table(
        "consent_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text_vi", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version"),
    )
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=12), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"]),
        sa.ForeignKeyConstraint(["notice_id"], ["consent_notices.id"]),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["device_id"], ["checkin_devices.id"]),
        sa.ForeignKeyConstraint(["withdrawn_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("consents") as batch_op:
        batch_op.create_index("ix_consents_person", ["person_id", "given_at"])
    op.create_table(
        "data_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_by_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("fulfilled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fulfilled_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"]),
        sa.ForeignKeyConstraint(["commune_id"], ["communes.id"]),
        sa.ForeignKeyConstraint(["received_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["fulfilled_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("data_requests") as batch_op:
        batch_op.create_index("ix_data_requests_person_id", ["person_id"])
        batch_op.create_index("ix_data_requests_commune_id", ["commune_id"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("what", sa.String(length=80), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("commune_id", sa.Integer(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.create_index("ix_audit_events_person", ["person_id", "at"])
        batch_op.create_index("ix_audit_events_user", ["user_id", "at"])
        batch_op.create_index("ix_audit_events_at", ["at"])
    # The trail is never changed, whoever tries (removal by retention stays possible).
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """CREATE FUNCTION audit_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit events are never changed';
            END $$"""
        )
        op.execute(
            "CREATE TRIGGER audit_events_immutable BEFORE UPDATE ON audit_events"
            " FOR EACH ROW EXECUTE FUNCTION audit_events_immutable()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_events_immutable BEFORE UPDATE ON audit_events"
            " BEGIN SELECT RAISE(ABORT, 'audit events are never changed'); END"
        )
    now = datetime.now(UTC)
    op.bulk_insert(
        notices,
        [{"id": 1, "version": 1, "text_vi": NOTICE_VI, "text_en": NOTICE_EN, "published_at": now}],
    )
    # Consents recorded before as a date on the person: on the first notice, on paper when
    # staff recorded them, else from an imported list.
    op.execute(
        """INSERT INTO consents (person_id, notice_id, method, given_on, given_at, recorded_by_id)
        SELECT id, 1, CASE WHEN consent_recorded_by_id IS NULL THEN 'import' ELSE 'paper' END,
               consent_on, updated_at, consent_recorded_by_id
        FROM persons WHERE consent_on IS NOT NULL"""
    )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_immutable ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_immutable()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_immutable")
    op.drop_table("audit_events")
    op.drop_table("data_requests")
    op.drop_table("consents")
    op.drop_table("consent_notices")
    with op.batch_alter_table("persons") as batch_op:
        batch_op.drop_column("erased_at")
        batch_op.drop_column("restricted_at")
        batch_op.drop_column("consent_withdrawn_at")
