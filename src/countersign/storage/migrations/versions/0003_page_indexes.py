"""indexes for the inbox and the dashboards

The pages' reads (countersign.storage.queries) and what serves them:

- `inbox_rows` (the inbox, the rep's dashboard): party_review rows of one party, current, pending,
  soonest due first -> party_review (party, current, state, due_at), read in due order.
- `list_visible` (every dashboard), newest change first -> proposal (updated_at, id) for all of them or
  a rep's (the label filter is a text match, read in that order until the page is full); a lead's
  -> proposal (owner_id, updated_at), also `awaiting_lead`'s; with a status filter ->
  proposal (status, updated_at), also `count_visible`'s and `inbox_count`'s status lookup.

Each composite index leads with the column of a single-column one it replaces (party_review.party,
proposal.owner_id, proposal.status), so lookups on that column alone are served as before.

Revision ID: 0003_page_indexes
Revises: 0002_security
Create Date: 2026-11-25 11:10:00
"""

from alembic import op

revision = '0003_page_indexes'
down_revision = '0002_security'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('party_review', schema=None) as batch_op:
        batch_op.create_index('ix_party_review_party_current_state_due_at',
                              ['party', 'current', 'state', 'due_at'], unique=False)
        batch_op.drop_index('ix_party_review_party')

    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.create_index('ix_proposal_updated_at_id', ['updated_at', 'id'], unique=False)
        batch_op.create_index('ix_proposal_owner_id_updated_at', ['owner_id', 'updated_at'], unique=False)
        batch_op.create_index('ix_proposal_status_updated_at', ['status', 'updated_at'], unique=False)
        batch_op.drop_index('ix_proposal_owner_id')
        batch_op.drop_index('ix_proposal_status')


def downgrade() -> None:
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.create_index('ix_proposal_status', ['status'], unique=False)
        batch_op.create_index('ix_proposal_owner_id', ['owner_id'], unique=False)
        batch_op.drop_index('ix_proposal_status_updated_at')
        batch_op.drop_index('ix_proposal_owner_id_updated_at')
        batch_op.drop_index('ix_proposal_updated_at_id')

    with op.batch_alter_table('party_review', schema=None) as batch_op:
        batch_op.create_index('ix_party_review_party', ['party'], unique=False)
        batch_op.drop_index('ix_party_review_party_current_state_due_at')
