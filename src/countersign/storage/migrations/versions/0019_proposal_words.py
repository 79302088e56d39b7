"""the word index of proposals' titles and summaries, for the lists' text search

`proposal_word` holds each word of a proposal's current title and summary
(countersign.domain.search), filled here from every proposal's latest
version; from now on the step that stores a version rewrites them. It is a
read model, rewritten with each version, not a record.

Revision ID: 0019_proposal_words
Revises: 0017_witness_revocations
Create Date: 2026-12-10 10:00:00
"""

import sqlalchemy as sa
from alembic import op

from countersign.storage.proposal_words import rows
from countersign.storage.tables import WORD

revision = '0019_proposal_words'
down_revision = '0017_witness_revocations'
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    word = op.create_table(
        'proposal_word',
        sa.Column('proposal_id', sa.Integer(), nullable=False),
        sa.Column('word', WORD, nullable=False),
        sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id']),
        sa.PrimaryKeyConstraint('proposal_id', 'word'),
    )
    op.create_index('ix_proposal_word_word_proposal_id', 'proposal_word', ['word', 'proposal_id'], unique=False)
    version = sa.table('proposal_version', sa.column('proposal_id', sa.Integer()), sa.column('number', sa.Integer()),
                       sa.column('content', sa.JSON()))
    proposal = sa.table('proposal', sa.column('id', sa.Integer()), sa.column('version', sa.Integer()))
    latest = (sa.select(version.c.proposal_id, version.c.content)
              .join(proposal, sa.and_(proposal.c.id == version.c.proposal_id, proposal.c.version == version.c.number))
              .order_by(version.c.proposal_id).limit(BATCH))
    db = op.get_bind()
    after = 0
    while found := db.execute(latest.where(version.c.proposal_id > after)).all():
        if words := [row for proposal_id, content in found for row in rows(proposal_id, content)]:
            db.execute(sa.insert(word), words)
        after = found[-1].proposal_id


def downgrade() -> None:
    op.drop_index('ix_proposal_word_word_proposal_id', table_name='proposal_word')
    op.drop_table('proposal_word')
