"""files sent as evidence for an obligation

`obligation_file` links a stored file to the obligation whose evidence it is;
append-only (triggers, as 0008's).

Revision ID: 0020_obligation_files
Revises: 0018_version_views
Create Date: 2026-12-04 16:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from countersign.storage.append_only import protect

revision = '0020_obligation_files'
down_revision = '0018_version_views'
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        'obligation_file',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('file_id', sa.Integer(), nullable=False),
        sa.Column('proposal_id', sa.Integer(), nullable=False),
        sa.Column('obligation', sa.Integer(), nullable=False),
        sa.Column('party', S(length=40), nullable=False),
        sa.Column('step', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['file_id'], ['stored_file.id']),
        sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('file_id'),
    )
    op.create_index(op.f('ix_obligation_file_proposal_id'), 'obligation_file', ['proposal_id'], unique=False)
    protect('obligation_file')  # triggers calling 0005's countersign_append_only() on PostgreSQL


def downgrade() -> None:
    op.drop_table('obligation_file')
