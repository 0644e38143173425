"""learning: framework versions, areas, competencies, certificate rules; evidence

Revision ID: a5e1learn001
Revises: dd1bb9396ac0
Create Date: 2026-11-26 02:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a5e1learn001'
down_revision = 'dd1bb9396ac0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('framework_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_framework_versions_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_framework_versions')),
    sa.UniqueConstraint('number', name=op.f('uq_framework_versions_number'))
    )

    op.create_table('certificate_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('target_group', sa.String(length=30), nullable=False),
    sa.Column('required_codes', sa.JSON(), nullable=False),
    sa.Column('min_attendance_pct', sa.Integer(), nullable=False),
    sa.Column('min_hours', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['framework_versions.id'], name=op.f('fk_certificate_rules_version_id_framework_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_rules')),
    sa.UniqueConstraint('version_id', 'target_group', name=op.f('uq_certificate_rules_version_id'))
    )

    with op.batch_alter_table('certificate_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_rules_version_id'), ['version_id'], unique=False)

    op.create_table('framework_areas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name_vi', sa.String(length=300), nullable=False),
    sa.Column('name_en', sa.String(length=300), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['framework_versions.id'], name=op.f('fk_framework_areas_version_id_framework_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_framework_areas')),
    sa.UniqueConstraint('version_id', 'code', name=op.f('uq_framework_areas_version_id'))
    )

    with op.batch_alter_table('framework_areas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_framework_areas_version_id'), ['version_id'], unique=False)

    op.create_table('evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('competency_code', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by_id', sa.Integer(), nullable=True),
    sa.Column('withdrawn_reason', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['classes.id'], name=op.f('fk_evidence_class_id_classes')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_evidence_person_id_persons')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_evidence_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['users.id'], name=op.f('fk_evidence_withdrawn_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence'))
    )

    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_class_id'), ['class_id'], unique=False)
        batch_op.create_index('ix_evidence_person_code', ['person_id', 'competency_code'], unique=False)

    op.create_table('framework_competencies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name_vi', sa.String(length=300), nullable=False),
    sa.Column('name_en', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['framework_areas.id'], name=op.f('fk_framework_competencies_area_id_framework_areas')),
    sa.ForeignKeyConstraint(['version_id'], ['framework_versions.id'], name=op.f('fk_framework_competencies_version_id_framework_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_framework_competencies')),
    sa.UniqueConstraint('version_id', 'code', name=op.f('uq_framework_competencies_version_id'))
    )

    with op.batch_alter_table('framework_competencies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_framework_competencies_area_id'), ['area_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_framework_competencies_version_id'), ['version_id'], unique=False)


def downgrade():
    with op.batch_alter_table('framework_competencies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_framework_competencies_version_id'))
        batch_op.drop_index(batch_op.f('ix_framework_competencies_area_id'))

    op.drop_table('framework_competencies')

    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_person_code')
        batch_op.drop_index(batch_op.f('ix_evidence_class_id'))

    op.drop_table('evidence')

    with op.batch_alter_table('framework_areas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_framework_areas_version_id'))

    op.drop_table('framework_areas')

    with op.batch_alter_table('certificate_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_rules_version_id'))

    op.drop_table('certificate_rules')

    op.drop_table('framework_versions')
