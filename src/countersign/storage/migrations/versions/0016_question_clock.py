"""a party's clock paused by an open question; files removed from a version

`party_review.paused_since`: the read model's mark of a clock stopped while a
question is open. `version_file_removal`: a file a resubmission leaves out of
the new version's set, append-only (triggers, as 0005's).

Revision ID: 0016_question_clock
Revises: 0019_proposal_words
Create Date: 2026-12-05 10:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import countersign.storage.tables

revision = '0016_question_clock'
down_revision = '0019_proposal_words'
branch_labels = None
depends_on = None

TABLE = 'version_file_removal'
T = countersign.storage.tables.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table('party_review', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paused_since', T(timezone=True), nullable=True))
    op.create_table(
        TABLE,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('proposal_id', sa.Integer(), nullable=False),
        sa.Column('file_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('removed_by', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column('removed_at', T(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['file_id'], ['stored_file.id']),
        sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('file_id'),
    )
    op.create_index(op.f('ix_version_file_removal_proposal_id'), TABLE, ['proposal_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':  # countersign_append_only(): migration 0005
        op.execute(f"""
            CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {TABLE}
            FOR EACH STATEMENT EXECUTE FUNCTION countersign_append_only()
        """)
    else:
        for action in ('UPDATE', 'DELETE'):
            op.execute(f"""
                CREATE TRIGGER {TABLE}_append_only_{action.lower()} BEFORE {action} ON {TABLE}
                BEGIN SELECT RAISE(ABORT, '{TABLE}: entries are append-only; {action} refused'); END
            """)


def downgrade() -> None:
    op.drop_table(TABLE)
    with op.batch_alter_table('party_review', schema=None) as batch_op:
        batch_op.drop_column('paused_since')
