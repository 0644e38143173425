"""mentoring: mentors (Đại sứ số) and mentorships, one active mentor per mentee

A mentor is a registered person (at most one record each) with the organisation they
volunteer with, the village they work in (none: the whole commune), whether they help at the
public-service centre's counter, and their log-in if they have one. A mentorship joins a
mentor and a mentee from its start until it ends with a reason; ended ones are kept. The
partial unique index ``uq_mentorships_active_person`` (person_id WHERE ended_at IS NULL)
allows one active mentorship per mentee, on SQLite and PostgreSQL alike.

Revision ID: c1mentor0001
Revises: b4print0001
Create Date: 2026-12-03 10:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c1mentor0001"
down_revision = "b4print0001"
branch_labels = None
depends_on = None

ACTIVE = sa.text("ended_at IS NULL")


def upgrade():
    op.create_table(
        "mentors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=True),
        sa.Column("organisation", sa.String(length=30), nullable=False),
        sa.Column("counter_helper", sa.Boolean(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["commune_id"], ["communes.id"], name=op.f("fk_mentors_commune_id_communes")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_mentors_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["ended_by_id"], ["users.id"], name=op.f("fk_mentors_ended_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_mentors_person_id_persons")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_mentors_user_id_users")),
        sa.ForeignKeyConstraint(
            ["village_id"], ["villages.id"], name=op.f("fk_mentors_village_id_villages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentors")),
        sa.UniqueConstraint("person_id", name=op.f("uq_mentors_person_id")),
        sa.UniqueConstraint("user_id", name=op.f("uq_mentors_user_id")),
    )
    with op.batch_alter_table("mentors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mentors_commune_id"), ["commune_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_mentors_village_id"), ["village_id"], unique=False)

    op.create_table(
        "mentorships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by_id", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by_id", sa.Integer(), nullable=True),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.Column("end_note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_id"], ["communes.id"], name=op.f("fk_mentorships_commune_id_communes")
        ),
        sa.ForeignKeyConstraint(
            ["ended_by_id"], ["users.id"], name=op.f("fk_mentorships_ended_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"], ["mentors.id"], name=op.f("fk_mentorships_mentor_id_mentors")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_mentorships_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["started_by_id"], ["users.id"], name=op.f("fk_mentorships_started_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentorships")),
    )
    with op.batch_alter_table("mentorships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mentorships_commune_id"), ["commune_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_mentorships_mentor_id"), ["mentor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_mentorships_person_id"), ["person_id"], unique=False)
        # One active mentorship per mentee: the database, not the code, has the last word.
        batch_op.create_index(
            "uq_mentorships_active_person",
            ["person_id"],
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        )


def downgrade():
    with op.batch_alter_table("mentorships", schema=None) as batch_op:
        batch_op.drop_index("uq_mentorships_active_person")
        batch_op.drop_index(batch_op.f("ix_mentorships_person_id"))
        batch_op.drop_index(batch_op.f("ix_mentorships_mentor_id"))
        batch_op.drop_index(batch_op.f("ix_mentorships_commune_id"))
    op.drop_table("mentorships")
    with op.batch_alter_table("mentors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mentors_village_id"))
        batch_op.drop_index(batch_op.f("ix_mentors_commune_id"))
    op.drop_table("mentors")
