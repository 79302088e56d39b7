"""a label's dashboard count read from an index (SQLite)

A rep's `count_visible` (the dashboard's pager) matches the proposal's
`parties` JSON text. On SQLite, an index holding that text serves the count
without reading a proposal row. PostgreSQL's json type has no b-tree order,
so there is nothing to create there.

Revision ID: 0015_label_count
Revises: 0012_webhooks
Create Date: 2026-12-04 14:00:00
"""

from alembic import op

revision = '0015_label_count'
down_revision = '0012_webhooks'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.create_index('ix_proposal_parties', ['parties'], unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.drop_index('ix_proposal_parties')
