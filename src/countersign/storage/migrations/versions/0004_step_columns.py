"""which workflow step wrote each row

Steps are recorded by a local activity, inside the workflow task that makes
them. If that task never completes (the worker dies), Temporal runs it again
and the step is recorded again, possibly with other content; the rows the
first run wrote are then replaced. These columns say which rows those are.

Revision ID: 0004_step_columns
Revises: 0003_page_indexes
Create Date: 2026-11-25 11:40:00
"""

import sqlalchemy as sa
from alembic import op

import countersign.storage.tables

revision = '0004_step_columns'
down_revision = '0003_page_indexes'
branch_labels = None
depends_on = None

STEP_TABLES = ('proposal_version', 'decision', 'audit_entry', 'outbox_mail')


def upgrade() -> None:
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_step_at', countersign.storage.tables.UTCDateTime(timezone=True), nullable=True))
    for table in STEP_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('step', sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in reversed(STEP_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('step')
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.drop_column('last_step_at')
