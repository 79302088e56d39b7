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
    if op.get_bind().dialect.name == 'postgresql':
        # countersign_append_only() is 0005's: it names the table and the refused operation.
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
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"DROP TRIGGER {TABLE}_append_only ON {TABLE}")
    else:
        for action in ('update', 'delete'):
            op.execute(f"DROP TRIGGER {TABLE}_append_only_{action}")
    op.drop_table(TABLE)
