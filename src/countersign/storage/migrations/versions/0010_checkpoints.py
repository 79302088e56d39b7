"""signed checkpoints of the audit log: its leaves in one global order, the
checkpoints, organisations' witness keys and their cosignatures

All four tables are append-only, like decisions and audit entries (0005):
triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL).

Revision ID: 0010_checkpoints
Revises: 0006_mail_html
Create Date: 2026-12-04 13:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from countersign.storage.append_only import protect, unprotect

import countersign.storage.tables

revision = '0010_checkpoints'
down_revision = '0006_mail_html'
branch_labels = None
depends_on = None

TABLES = ('log_leaf', 'checkpoint', 'witness_key', 'checkpoint_cosignature')
STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        'log_leaf',
        sa.Column('idx', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('leaf_hash', STR(length=64), nullable=False),
        sa.PrimaryKeyConstraint('idx'),
        sa.UniqueConstraint('entry_id'),
    )
    op.create_table(
        'checkpoint',
        sa.Column('size', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('root', STR(length=64), nullable=False),
        sa.Column('time', countersign.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column('signature', STR(length=200), nullable=False),
        sa.Column('key_id', STR(length=64), nullable=False),
        sa.PrimaryKeyConstraint('size'),
    )
    op.create_table(
        'witness_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('party', STR(length=40), nullable=False),
        sa.Column('key_id', STR(length=64), nullable=False),
        sa.Column('public_key', STR(), nullable=False),
        sa.Column('registered_by', STR(length=254), nullable=False),
        sa.Column('registered_at', countersign.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key_id'),
    )
    op.create_index(op.f('ix_witness_key_party'), 'witness_key', ['party'], unique=False)
    op.create_table(
        'checkpoint_cosignature',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('party', STR(length=40), nullable=False),
        sa.Column('key_id', STR(length=64), nullable=False),
        sa.Column('signature', STR(length=200), nullable=False),
        sa.Column('time', countersign.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column('submitted_by', STR(length=254), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('size', 'key_id'),
    )
    op.create_index(op.f('ix_checkpoint_cosignature_size'), 'checkpoint_cosignature', ['size'], unique=False)
    for table in TABLES:  # triggers calling 0005's countersign_append_only() on PostgreSQL
        protect(table)


def downgrade() -> None:
    for table in TABLES:
        unprotect(table)
    op.drop_index(op.f('ix_checkpoint_cosignature_size'), table_name='checkpoint_cosignature')
    op.drop_table('checkpoint_cosignature')
    op.drop_index(op.f('ix_witness_key_party'), table_name='witness_key')
    op.drop_table('witness_key')
    op.drop_table('checkpoint')
    op.drop_table('log_leaf')
