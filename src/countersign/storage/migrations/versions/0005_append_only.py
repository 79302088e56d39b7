"""decisions and audit entries are append-only

The database refuses to update or delete a decision or an audit entry (and,
on PostgreSQL, to truncate their tables): triggers raise an error naming the
table. Countersign only ever inserts them; these triggers make that a
property of the database rather than of the code that happens to use it.

Also drops `proposal.last_step_at`: it ordered the steps a re-run workflow
task replaced, and steps are no longer replaced (they are recorded by a
scheduled activity, once).

On SQLite, a later batch migration that recreates `decision` or
`audit_entry` drops their triggers with the old table: create them again in
that migration (tests/db/test_append_only.py fails until it does).

Revision ID: 0005_append_only
Revises: 0004_step_columns
Create Date: 2026-12-04 12:00:00
"""

import sqlalchemy as sa
from alembic import op

import countersign.storage.tables
from countersign.storage.append_only import protect, unprotect

revision = '0005_append_only'
down_revision = '0004_step_columns'
branch_labels = None
depends_on = None

TABLES = ('decision', 'audit_entry')


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""
            CREATE FUNCTION countersign_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '%: entries are append-only; % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'restrict_violation';
            END
            $$
        """)
    for table in TABLES:  # on PostgreSQL for each statement: refused even when no row matches
        protect(table)
    op.drop_column('proposal', 'last_step_at')


def downgrade() -> None:
    op.add_column('proposal', sa.Column('last_step_at', countersign.storage.tables.UTCDateTime(timezone=True), nullable=True))
    for table in TABLES:
        unprotect(table)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP FUNCTION countersign_append_only()")
