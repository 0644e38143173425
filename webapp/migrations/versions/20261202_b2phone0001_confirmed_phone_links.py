"""check-in: confirmed phone links; quiz evidence pending until a phone's link is confirmed

A phone is linked to a person only by a successful check-in, and the link records how
(phone number + birth year, or learner code), at which occasion, and whether staff have
confirmed it. Quiz evidence passed on a phone keeps the phone's link and a pending flag:
eligibility does not count pending evidence. Links made before are left unconfirmed (they
may have been made by a refused identification); evidence recorded before stays counted.

Revision ID: b2phone0001
Revises: b3acct0001
Create Date: 2026-12-02 15:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b2phone0001"
down_revision = "b3acct0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("checkin_devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("method", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("occasion_kind", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("occasion_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("confirmed_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_checkin_devices_confirmed_by_id_users"), "users",
            ["confirmed_by_id"], ["id"],
        )
        batch_op.create_index(
            "ix_checkin_devices_occasion", ["occasion_kind", "occasion_id"], unique=False
        )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("pending", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_evidence_device_id_checkin_devices"), "checkin_devices",
            ["device_id"], ["id"],
        )
        batch_op.create_index(batch_op.f("ix_evidence_device_id"), ["device_id"], unique=False)


def downgrade():
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_device_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_evidence_device_id_checkin_devices"), type_="foreignkey"
        )
        batch_op.drop_column("pending")
        batch_op.drop_column("device_id")
    with op.batch_alter_table("checkin_devices", schema=None) as batch_op:
        batch_op.drop_index("ix_checkin_devices_occasion")
        batch_op.drop_constraint(
            batch_op.f("fk_checkin_devices_confirmed_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("confirmed_by_id")
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("occasion_id")
        batch_op.drop_column("occasion_kind")
        batch_op.drop_column("method")
