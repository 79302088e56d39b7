"""a party's clock paused by an open question; files removed from a version

`party_review.paused_since`: the read model's mark of a clock stopped while a
question is open. `version_file_removal`: a file a resubmission leaves out of
the new version's set, append-only (triggers, as 0005's).

Revision ID: 0016_question_clock
Revises: 0019_proposal_words
Create Date: 2026-12-05 10:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import countersign.storage.tables
from countersign.storage.append_only import protect

revision = '0016_question_clock'
down_revision = '0019_proposal_words'
branch_labels = None
depends_on = None

TABLE = 'version_file_removal'
T = countersign.storage.tables.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table('party_review', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paused_since', T(timezone=True), nullable=True))
    op.create_table(
        TABLE,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('proposal_id', sa.Integer(), nullable=False),
        sa.Column('file_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('removed_by', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column('removed_at', T(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['file_id'], ['stored_file.id']),
        sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('file_id'),
    )
    op.create_index(op.f('ix_version_file_removal_proposal_id'), TABLE, ['proposal_id'], unique=False)
    protect(TABLE)  # triggers calling 0005's countersign_append_only() on PostgreSQL


def downgrade() -> None:
    op.drop_table(TABLE)
    with op.batch_alter_table('party_review', schema=None) as batch_op:
        batch_op.drop_column('paused_since')
