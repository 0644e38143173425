"""reports: who counts, kept current — spans of time each person (household) counted for a
measure, open counts per village, and the queue of people to rebuild, filled by triggers on the
records the figures read

Revision ID: d3report0003
Revises: d2report0002
Create Date: 2026-12-04 19:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "d3report0003"
down_revision = "d2report0002"
branch_labels = None
depends_on = None

#: table -> (the column naming the person, the columns whose change matters on UPDATE).
WATCHED = {
    "persons": (
        "id",
        "commune_id, village_id, household_id, target_group, birth_year, created_at,"
        " digital_signature, digital_signature_on, vneid_level2, vneid_level2_on",
    ),
    "attendance": ("person_id", "person_id, occasion_kind, status, recorded_at"),
    "certificates": ("person_id", "person_id, issued_at, revoked_at"),
    "evidence": (
        "person_id",
        "person_id, competency_code, kind, recorded_at, withdrawn_at, pending, device_id",
    ),
    "checkin_devices": ("person_id", "person_id, confirmed_at, revoked_at"),
}
#: A change of a rule (or a new framework version) can change anyone's all-competencies span.
RULES = ("certificate_rules", "framework_versions")
EVERYONE_WITH_EVIDENCE = "SELECT DISTINCT person_id FROM evidence"


def _sqlite_triggers():
    for table, (column, watched) in WATCHED.items():
        new = f"INSERT INTO report_dirty (person_id) VALUES (NEW.{column});"
        old = f"INSERT INTO report_dirty (person_id) VALUES (OLD.{column});"
        yield (
            f"CREATE TRIGGER report_dirty_{table}_insert AFTER INSERT ON {table} BEGIN {new} END"
        )
        yield (
            f"CREATE TRIGGER report_dirty_{table}_update AFTER UPDATE OF {watched} ON {table} "
            f"BEGIN {new} {old} END"
        )
        yield (
            f"CREATE TRIGGER report_dirty_{table}_delete AFTER DELETE ON {table} BEGIN {old} END"
        )
    for table in RULES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            yield (
                f"CREATE TRIGGER report_dirty_{table}_{event.lower()} AFTER {event} ON {table} "
                f"BEGIN INSERT INTO report_dirty (person_id) {EVERYONE_WITH_EVIDENCE}; END"
            )


def _postgresql_triggers():
    yield """
        CREATE FUNCTION report_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'DELETE' THEN
                INSERT INTO report_dirty (person_id)
                VALUES ((to_jsonb(NEW) ->> TG_ARGV[0])::integer);
            END IF;
            IF TG_OP <> 'INSERT' THEN
                INSERT INTO report_dirty (person_id)
                VALUES ((to_jsonb(OLD) ->> TG_ARGV[0])::integer);
            END IF;
            RETURN NULL;
        END $$"""
    yield f"""
        CREATE FUNCTION report_mark_all_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO report_dirty (person_id) {EVERYONE_WITH_EVIDENCE};
            RETURN NULL;
        END $$"""
    for table, (column, watched) in WATCHED.items():
        yield (
            f"CREATE TRIGGER report_dirty_{table} AFTER INSERT OR DELETE OR UPDATE OF {watched}"
            f" ON {table} FOR EACH ROW EXECUTE FUNCTION report_mark_dirty('{column}')"
        )
    for table in RULES:
        yield (
            f"CREATE TRIGGER report_dirty_{table} AFTER INSERT OR UPDATE OR DELETE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION report_mark_all_dirty()"
        )


def upgrade():
    op.create_table(
        "report_spans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("measure", sa.String(length=30), nullable=False),
        sa.Column("target_group", sa.String(length=30), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("report_spans") as batch_op:
        batch_op.create_index("ix_report_spans_subject", ["subject_id", "measure"])
        batch_op.create_index(
            "ix_report_spans_unit",
            ["village_id", "measure", "target_group", "until", "since", "household_id"],
        )
        batch_op.create_index("ix_report_spans_household", ["household_id", "measure", "since"])
        batch_op.create_index("ix_report_spans_since", ["since"])
        batch_op.create_index("ix_report_spans_until", ["until"])
    op.create_table(
        "report_counts",
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("target_group", sa.String(length=30), nullable=False),
        sa.Column("measure", sa.String(length=30), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("village_id", "target_group", "measure"),
    )
    with op.batch_alter_table("report_counts") as batch_op:
        batch_op.create_index("ix_report_counts_commune_id", ["commune_id"])
    op.create_table(
        "report_dirty",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    triggers = (
        _postgresql_triggers() if op.get_bind().dialect.name == "postgresql" else _sqlite_triggers()
    )
    for statement in triggers:
        op.execute(statement)
    # Everyone is rebuilt on the first reading of the figures.
    op.execute("INSERT INTO report_dirty (person_id) SELECT id FROM persons")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in (*WATCHED, *RULES):
            op.execute(f"DROP TRIGGER IF EXISTS report_dirty_{table} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS report_mark_dirty()")
        op.execute("DROP FUNCTION IF EXISTS report_mark_all_dirty()")
    else:
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS report_dirty_{table}_{event}")
        for table in RULES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS report_dirty_{table}_{event}")
    op.drop_table("report_dirty")
    op.drop_table("report_counts")
    op.drop_table("report_spans")
