"""A rep's inbox count (on every page they see) is the number of rows their
inbox pages through, on SQLite and PostgreSQL, whatever state each proposal
and row is in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from countersign.storage import queries
from countersign.storage.db import transaction
from countersign.storage.tables import PartyReview, Proposal
from tests import factories

DUE = datetime(2027, 1, 4, 17, tzinfo=UTC)


def test_the_inbox_count_is_the_rows_the_inbox_lists(any_engine):
    cases = [  # (status, pending list, sony's row state, current)
        ("in_review", ["sony"], "pending", True),           # waits on sony
        ("in_review", ["sony", "warner"], "pending", True),  # waits on both
        ("in_review", ["warner"], "approved", True),         # sony decided
        ("changes_requested", [], "waiting", True),          # on hold
        ("in_review", ["sony"], "pending", False),           # an earlier stage's row, no longer current...
    ]
    owner = factories.user(any_engine, "lead")
    now = datetime.now(UTC)
    for offset, (status, pending, state, current) in enumerate(cases):
        pid = 5_150_000 + offset
        with transaction(any_engine) as session:
            session.add(Proposal(id=pid, owner_id=owner.id, title="AI remix studio", capability="remix",
                                 parties=["sony", "warner"], status=status, version=1, stage="Review",
                                 pending=pending, created_at=now, updated_at=now))
        with transaction(any_engine) as session:
            session.add(PartyReview(proposal_id=pid, stage_index=0, stage="Review", party="sony", state=state,
                                    current=current, due_at=DUE + timedelta(hours=offset)))
            if "warner" in pending:
                session.add(PartyReview(proposal_id=pid, stage_index=0, stage="Review", party="warner",
                                        state="pending", current=True, due_at=DUE))
    with transaction(any_engine) as session:  # ...whose current row is in the next stage
        session.add(PartyReview(proposal_id=5_150_004, stage_index=1, stage="Legal", party="sony", state="pending",
                                current=True, due_at=DUE + timedelta(days=9)))
    with Session(any_engine) as session:
        sony = queries.inbox_rows(session, "sony")
        assert [p.id for p, _ in sony] == [5_150_000, 5_150_001, 5_150_004]
        assert queries.inbox_count(session, "sony") == 3
        assert queries.inbox_count(session, "warner") == len(queries.inbox_rows(session, "warner")) == 2
        assert queries.inbox_count(session, "merlin") == 0
