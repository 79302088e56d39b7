"""which questions and answers the proposal's workflow has been told of

A question (or its answer) is stored first and then told to the proposal's workflow, which may stop
(or restart) the asking party's clock. A telling that Temporal missed was only logged; now each told
one gets a row, and the minute sweep tells the others again. Questions and answers stored before
this release were told then, or logged as not told: they are taken as told.

Revision ID: 0022_question_told
Revises: 0016_question_clock
Create Date: 2026-12-04 19:30:00
"""

import sqlalchemy as sa
from alembic import op

import countersign.storage.tables
from countersign.storage import append_only

revision = '0022_question_told'
down_revision = '0016_question_clock'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'question_told',
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('told_at', countersign.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['message.id']),
        sa.PrimaryKeyConstraint('message_id'),
    )
    op.execute("INSERT INTO question_told (message_id, told_at) "
               "SELECT id, created_at FROM message WHERE question OR answers")
    append_only.protect('question_told')


def downgrade() -> None:
    append_only.unprotect('question_told')
    op.drop_table('question_told')
