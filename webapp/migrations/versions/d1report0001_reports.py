"""reports: the plan's indicators (versioned), populations entered as denominators, submitted
reports with frozen figures

Revision ID: d1report0001
Revises: c2meet0001
Create Date: 2026-12-03 14:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "d1report0001"
down_revision = "c2meet0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_indicators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("target_group", sa.String(length=30), nullable=True),
        sa.Column("measure", sa.String(length=30), nullable=False),
        sa.Column("denominator", sa.String(length=20), nullable=False),
        sa.Column("target_pct", sa.Float(), nullable=False),
        sa.Column("name_vi", sa.String(length=300), nullable=False),
        sa.Column("name_en", sa.String(length=300), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code", "year", "version"),
    )
    with op.batch_alter_table("report_indicators") as batch_op:
        batch_op.create_index("ix_report_indicators_year", ["year"])
    op.create_table(
        "report_populations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("target_group", sa.String(length=30), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["commune_id"], ["communes.id"]),
        sa.ForeignKeyConstraint(["entered_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["village_id"], ["villages.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("village_id", "year", "target_group"),
    )
    with op.batch_alter_table("report_populations") as batch_op:
        batch_op.create_index("ix_report_populations_commune_id", ["commune_id"])
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=False),
        sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reopened_by_id", sa.Integer(), nullable=True),
        sa.Column("reopen_reason", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(["commune_id"], ["communes.id"]),
        sa.ForeignKeyConstraint(["reopened_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["submitted_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("commune_id", "period"),
    )


def downgrade():
    op.drop_table("reports")
    op.drop_table("report_populations")
    op.drop_table("report_indicators")
