"""checkin: the ledger of actions queued on an offline staff phone (idempotent by nonce)

Revision ID: f1offline0001
Revises: e1privacy0001
Create Date: 2026-12-04 20:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "f1offline0001"
down_revision = "e1privacy0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "offline_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("nonce"),
    )
    with op.batch_alter_table("offline_actions") as batch_op:
        batch_op.create_index("ix_offline_actions_user_id", ["user_id"])


def downgrade():
    with op.batch_alter_table("offline_actions") as batch_op:
        batch_op.drop_index("ix_offline_actions_user_id")
    op.drop_table("offline_actions")
