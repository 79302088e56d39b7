"""mail that failed its last try is parked (and shown why); API tokens may expire

Revision ID: 0007_hostile_input
Revises: 0011_identity
Create Date: 2026-12-04 12:45:00
"""

import sqlalchemy as sa
from alembic import op

import countersign.storage.tables

revision = '0007_hostile_input'
down_revision = '0011_identity'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parked_at', countersign.storage.tables.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', countersign.storage.tables.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.drop_column('parked_at')
