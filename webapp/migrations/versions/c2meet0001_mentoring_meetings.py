"""mentoring meetings, mentees' confirmations, and whether meeting hours count

A meeting is a mentor meeting mentees (or trying to: ``held`` false), with its time, place,
the competencies practised, a note and who logged it when (``entered_later`` when logged
after it ended). Who was there is attendance of occasion kind "meeting". A confirmation is
a mentee's own tap on their remembered phone. ``certificate_rules.meeting_hours_count``
says whether the hours of held meetings count toward a group's hours (default no).

Revision ID: c2meet0001
Revises: c1mentor0001
Create Date: 2026-12-03 13:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c2meet0001"
down_revision = "c1mentor0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mentoring_meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(length=20), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("competency_codes", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("logged_by_id", sa.Integer(), nullable=False),
        sa.Column("entered_later", sa.Boolean(), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["commune_id"], ["communes.id"]),
        sa.ForeignKeyConstraint(["logged_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["mentor_id"], ["mentors.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("mentor_id", "nonce"),
    )
    with op.batch_alter_table("mentoring_meetings") as batch_op:
        batch_op.create_index("ix_mentoring_meetings_commune_id", ["commune_id"])
        batch_op.create_index("ix_mentoring_meetings_starts_at", ["starts_at"])
        batch_op.create_index("ix_mentoring_meetings_mentor_starts", ["mentor_id", "starts_at"])
    op.create_table(
        "mentoring_confirmations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["checkin_devices.id"]),
        sa.ForeignKeyConstraint(["meeting_id"], ["mentoring_meetings.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("meeting_id", "person_id"),
    )
    with op.batch_alter_table("mentoring_confirmations") as batch_op:
        batch_op.create_index("ix_mentoring_confirmations_person_id", ["person_id"])
    with op.batch_alter_table("certificate_rules") as batch_op:
        batch_op.add_column(
            sa.Column(
                "meeting_hours_count", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade():
    with op.batch_alter_table("certificate_rules") as batch_op:
        batch_op.drop_column("meeting_hours_count")
    op.drop_table("mentoring_confirmations")
    op.drop_table("mentoring_meetings")
