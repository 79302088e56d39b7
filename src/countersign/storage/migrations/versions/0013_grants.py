"""risk tiers, grants and obligations

Revision ID: 0013_grants
Revises: 0007_hostile_input
Create Date: 2026-12-04 13:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import countersign.storage.tables

revision = '0013_grants'
down_revision = '0007_hostile_input'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tier', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch_op.add_column(sa.Column('route', sa.JSON(), nullable=True))
    op.create_table(
        'grant_record',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('proposal_id', sa.Integer(), nullable=False),
        sa.Column('party', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('markets', sa.JSON(), nullable=False),
        sa.Column('starts_at', countersign.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', countersign.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('proposal_id', 'party'),
    )
    op.create_index(op.f('ix_grant_record_party'), 'grant_record', ['party'], unique=False)
    op.create_table(
        'obligation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('proposal_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('party', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('due_at', countersign.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('evidence', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('proposal_id', 'number'),
    )
    op.create_index(op.f('ix_obligation_proposal_id'), 'obligation', ['proposal_id'], unique=False)
    op.create_index(op.f('ix_obligation_party'), 'obligation', ['party'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_obligation_party'), table_name='obligation')
    op.drop_index(op.f('ix_obligation_proposal_id'), table_name='obligation')
    op.drop_table('obligation')
    op.drop_index(op.f('ix_grant_record_party'), table_name='grant_record')
    op.drop_table('grant_record')
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.drop_column('route')
        batch_op.drop_column('tier')
