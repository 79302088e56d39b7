"""the versions each person has opened (UI state for the decision form's diff)

Revision ID: 0018_version_views
Revises: 0008_threads_files
Create Date: 2026-12-05 10:00:00
"""

import sqlalchemy as sa
from alembic import op

import countersign.storage.tables

revision = '0018_version_views'
down_revision = '0008_threads_files'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'version_view',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('proposal_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('seen_at', countersign.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id']),
        sa.ForeignKeyConstraint(['user_id'], ['user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'proposal_id', 'version'),
    )


def downgrade() -> None:
    op.drop_table('version_view')
