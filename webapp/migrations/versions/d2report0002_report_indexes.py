"""reports: indexes that answer the figures' counts alone (people of a group by commune, village
and household as of a moment; whether a person attended a session by then)

Revision ID: d2report0002
Revises: d1report0001
Create Date: 2026-12-03 14:30:00

"""

from alembic import op

revision = "d2report0002"
down_revision = "d1report0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("persons") as batch_op:
        batch_op.create_index(
            "ix_persons_reports",
            ["commune_id", "target_group", "village_id", "created_at", "household_id"],
        )
    with op.batch_alter_table("attendance") as batch_op:
        batch_op.drop_index("ix_attendance_person")
        batch_op.create_index(
            "ix_attendance_person", ["person_id", "occasion_kind", "status", "recorded_at"]
        )


def downgrade():
    with op.batch_alter_table("attendance") as batch_op:
        batch_op.drop_index("ix_attendance_person")
        batch_op.create_index("ix_attendance_person", ["person_id"])
    with op.batch_alter_table("persons") as batch_op:
        batch_op.drop_index("ix_persons_reports")
