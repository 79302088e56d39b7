"""signatures: a decision's signature manifestation and re-authentication; API token scopes

Revision ID: 0009_signatures
Revises: 0013_grants

Plain ADD COLUMN, not batch_alter_table: on SQLite a batch copies the table,
and `decision` would lose its append-only triggers (0005_append_only).
"""

import sqlalchemy as sa
from alembic import op

revision = '0009_signatures'
down_revision = '0013_grants'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('decision', sa.Column('signature', sa.JSON(), nullable=True))
    op.add_column('decision', sa.Column('reauthenticated', sa.String(length=20), nullable=True))
    op.add_column('api_token', sa.Column('scopes', sa.JSON(), nullable=True))  # none: no scope


def downgrade() -> None:
    op.drop_column('api_token', 'scopes')
    op.drop_column('decision', 'reauthenticated')
    op.drop_column('decision', 'signature')
