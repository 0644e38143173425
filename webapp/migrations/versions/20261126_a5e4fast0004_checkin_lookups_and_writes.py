"""check-in: the learner's lookups and writes (people by phone number; no second index on a
phone's key; rate-limit counts without a row id on SQLite)

A learner identifies with phone number and birth year: people get an index on the number. A
first check-in writes a phone's link and its attendance row, and each check-in request is
counted: these are the pages every check-in writes. The unique (key, person_id) constraint
already serves lookups by key, so the separate index on key is dropped; on SQLite the counts
table becomes a WITHOUT ROWID table (its primary key is the table: one B-tree, not two).
Counts are short-lived (ten-minute windows) and are carried over.

Revision ID: a5e4fast0004
Revises: a5e3cert0003
Create Date: 2026-11-26 04:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = "a5e4fast0004"
down_revision = "a5e3cert0003"
branch_labels = None
depends_on = None


def _throttles(name: str, *, with_rowid: bool):
    op.create_table(
        name,
        sa.Column("bucket", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.Integer(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "key", "window_start", name="pk_throttles"),
        sqlite_with_rowid=with_rowid,
    )


def _rebuild_throttles(*, with_rowid: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # a PostgreSQL table has no row id
    op.rename_table("throttles", "throttles_old")
    _throttles("throttles", with_rowid=with_rowid)
    op.execute(
        'INSERT INTO throttles (bucket, "key", window_start, hits)'
        ' SELECT bucket, "key", window_start, hits FROM throttles_old'
    )
    op.drop_table("throttles_old")


def upgrade():
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.create_index("ix_persons_phone", ["phone"], unique=False)
    with op.batch_alter_table("checkin_devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkin_devices_key"))
    _rebuild_throttles(with_rowid=False)


def downgrade():
    _rebuild_throttles(with_rowid=True)
    with op.batch_alter_table("checkin_devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkin_devices_key"), ["key"], unique=False)
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_index("ix_persons_phone")
