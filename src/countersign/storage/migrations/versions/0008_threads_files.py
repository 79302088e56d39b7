"""messages, attached files and redactions on proposals

Messages, files, their links and redactions are append-only (triggers, as
0005's); `message_text` is not: redaction deletes a message's words.

Revision ID: 0008_threads_files
Revises: 0015_label_count
Create Date: 2026-12-04 14:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from countersign.storage.append_only import protect

import countersign.storage.tables

revision = '0008_threads_files'
down_revision = '0015_label_count'
branch_labels = None
depends_on = None

APPEND_ONLY = ('message', 'stored_file', 'message_file', 'redaction')
S = sqlmodel.sql.sqltypes.AutoString
T = countersign.storage.tables.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('proposal_id', sa.Integer(), nullable=False),
        sa.Column('thread_id', sa.Integer(), nullable=True),
        sa.Column('reply_to', sa.Integer(), nullable=True),
        sa.Column('author', S(length=254), nullable=False),
        sa.Column('author_role', S(length=20), nullable=False),
        sa.Column('visibility', S(length=20), nullable=False),
        sa.Column('party', S(length=40), nullable=True),
        sa.Column('question', sa.Boolean(), nullable=False),
        sa.Column('answers', sa.Boolean(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=True),
        sa.Column('checklist_item', S(length=40), nullable=True),
        sa.Column('text_sha256', S(length=64), nullable=False),
        sa.Column('created_at', T(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id']),
        sa.ForeignKeyConstraint(['reply_to'], ['message.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_message_proposal_id'), 'message', ['proposal_id'], unique=False)
    op.create_index(op.f('ix_message_thread_id'), 'message', ['thread_id'], unique=False)
    op.create_table(
        'message_text',
        sa.Column('message_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('text', S(), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['message.id']),
        sa.PrimaryKeyConstraint('message_id'),
    )
    op.create_table(
        'stored_file',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('proposal_id', sa.Integer(), nullable=False),
        sa.Column('name', S(length=200), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('content_type', S(length=100), nullable=False),
        sa.Column('sha256', S(length=64), nullable=False),
        sa.Column('version', sa.Integer(), nullable=True),
        sa.Column('uploaded_by', S(length=254), nullable=False),
        sa.Column('created_at', T(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_stored_file_proposal_id'), 'stored_file', ['proposal_id'], unique=False)
    op.create_index(op.f('ix_stored_file_sha256'), 'stored_file', ['sha256'], unique=False)
    op.create_table(
        'message_file',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('file_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['file_id'], ['stored_file.id']),
        sa.ForeignKeyConstraint(['message_id'], ['message.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('file_id'),
    )
    op.create_index(op.f('ix_message_file_message_id'), 'message_file', ['message_id'], unique=False)
    op.create_table(
        'redaction',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('proposal_id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.Column('file_id', sa.Integer(), nullable=True),
        sa.Column('reason', S(), nullable=False),
        sa.Column('redacted_by', S(length=254), nullable=False),
        sa.Column('redacted_at', T(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['file_id'], ['stored_file.id']),
        sa.ForeignKeyConstraint(['message_id'], ['message.id']),
        sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_redaction_proposal_id'), 'redaction', ['proposal_id'], unique=False)
    op.create_index(op.f('ix_redaction_message_id'), 'redaction', ['message_id'], unique=False)
    op.create_index(op.f('ix_redaction_file_id'), 'redaction', ['file_id'], unique=False)
    for table in APPEND_ONLY:  # triggers calling 0005's countersign_append_only() on PostgreSQL
        protect(table)


def downgrade() -> None:
    for table in ('redaction', 'message_file', 'stored_file', 'message_text', 'message'):
        op.drop_table(table)
