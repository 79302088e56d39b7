"""witness keys can be revoked: an append-only record of each revocation

A revoked key's cosignatures made from the revocation on do not count;
earlier ones stand, shown as made before it (docs/checkpoints.md). Like the
other checkpoint tables (0010), triggers refuse UPDATE and DELETE (and
TRUNCATE on PostgreSQL).

Revision ID: 0017_witness_revocations
Revises: 0021_inbox_waiting
Create Date: 2026-12-05 10:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import countersign.storage.tables
from countersign.storage.append_only import protect, unprotect

revision = '0017_witness_revocations'
down_revision = '0021_inbox_waiting'
branch_labels = None
depends_on = None

TABLE = 'witness_key_revocation'
STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key_id', STR(length=64), nullable=False),
        sa.Column('party', STR(length=40), nullable=False),
        sa.Column('reason', STR(length=500), nullable=False),
        sa.Column('revoked_by', STR(length=254), nullable=False),
        sa.Column('revoked_at', countersign.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key_id'),
    )
    protect(TABLE)  # triggers calling 0005's countersign_append_only() on PostgreSQL


def downgrade() -> None:
    unprotect(TABLE)
    op.drop_table(TABLE)
