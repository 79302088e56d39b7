"""a label's inbox count read from one index

Every page a rep sees shows their inbox count. It was counted by joining the
party's current pending rows to their proposals (in review, still waiting on
the party): about 100 ms with 100,000 proposals. The writer of the read model
now stores that answer on the row (`party_review.waiting`,
`countersign.storage.queries.waits_on`), and the inbox and its count read
party_review (party, waiting, due_at) alone. The read model is rewritten at
every step; rows already there are filled in here by the same rule.

Revision ID: 0021_inbox_waiting
Revises: 0020_obligation_files
Create Date: 2026-12-04 16:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0021_inbox_waiting'
down_revision = '0020_obligation_files'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('party_review', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waiting', sa.Boolean(), nullable=False, server_default=sa.false()))
    review = sa.table('party_review', sa.column('proposal_id'), sa.column('party'), sa.column('state'),
                      sa.column('current', sa.Boolean), sa.column('waiting', sa.Boolean))
    proposal = sa.table('proposal', sa.column('id'), sa.column('status'), sa.column('pending'))
    op.execute(review.update().where(
        review.c.current == sa.true(), review.c.state == 'pending',
        sa.exists().where(proposal.c.id == review.c.proposal_id, proposal.c.status == 'in_review',
                          sa.cast(proposal.c.pending, sa.String).like(sa.literal('%"') + review.c.party + '"%')),
    ).values(waiting=True))
    with op.batch_alter_table('party_review', schema=None) as batch_op:
        batch_op.create_index('ix_party_review_party_waiting_due_at', ['party', 'waiting', 'due_at'], unique=False)
        batch_op.drop_index('ix_party_review_party_current_state_due_at')


def downgrade() -> None:
    with op.batch_alter_table('party_review', schema=None) as batch_op:
        batch_op.create_index('ix_party_review_party_current_state_due_at',
                              ['party', 'current', 'state', 'due_at'], unique=False)
        batch_op.drop_index('ix_party_review_party_waiting_due_at')
        batch_op.drop_column('waiting')
