"""files sent as evidence for an obligation

`obligation_file` links a stored file to the obligation whose evidence it is;
append-only (triggers, as 0008's).

Revision ID: 0020_obligation_files
Revises: 0018_version_views
Create Date: 2026-12-04 16:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0020_obligation_files'
down_revision = '0018_version_views'
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        'obligation_file',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('file_id', sa.Integer(), nullable=False),
        sa.Column('proposal_id', sa.Integer(), nullable=False),
        sa.Column('obligation', sa.Integer(), nullable=False),
        sa.Column('party', S(length=40), nullable=False),
        sa.Column('step', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['file_id'], ['stored_file.id']),
        sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('file_id'),
    )
    op.create_index(op.f('ix_obligation_file_proposal_id'), 'obligation_file', ['proposal_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':  # countersign_append_only(): migration 0005
        op.execute("""
            CREATE TRIGGER obligation_file_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON obligation_file
            FOR EACH STATEMENT EXECUTE FUNCTION countersign_append_only()
        """)
    else:
        for action in ('UPDATE', 'DELETE'):
            op.execute(f"""
                CREATE TRIGGER obligation_file_append_only_{action.lower()} BEFORE {action} ON obligation_file
                BEGIN SELECT RAISE(ABORT, 'obligation_file: entries are append-only; {action} refused'); END
            """)


def downgrade() -> None:
    op.drop_table('obligation_file')
