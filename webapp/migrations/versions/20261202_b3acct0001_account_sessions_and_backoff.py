"""accounts: session generation (revocation), disabling with who/when/why, last sign-in
address; log-in backoff streaks

Every signed cookie carries the user's session generation; bumping it (log-out, new
password, disabling, "sign out everywhere") ends every session issued before. A disabled
account keeps who disabled it, when and why. Failed log-ins are throttled by streaks with
increasing waits (table ``backoffs``) instead of one hard lock per user name.

Revision ID: b3acct0001
Revises: b1import0001
Create Date: 2026-12-02 15:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b3acct0001"
down_revision = "b1import0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("last_login_address", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("disabled_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("disabled_reason", sa.String(length=200), nullable=True))
        batch.create_foreign_key(
            "fk_users_disabled_by_id_users", "users", ["disabled_by_id"], ["id"]
        )
    op.create_table(
        "backoffs",
        sa.Column("bucket", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "key", name="pk_backoffs"),
    )


def downgrade():
    op.drop_table("backoffs")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("fk_users_disabled_by_id_users", type_="foreignkey")
        batch.drop_column("disabled_reason")
        batch.drop_column("disabled_by_id")
        batch.drop_column("disabled_at")
        batch.drop_column("last_login_address")
        batch.drop_column("session_generation")
