"""A rep's inbox count (on every page they see) is the number of rows their
inbox pages through, on SQLite and PostgreSQL, whatever state each proposal
and row is in. Rows are written as the read model's writer writes them, with
`waiting` from `queries.waits_on`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from countersign.storage import queries
from countersign.storage.db import transaction
from countersign.storage.tables import PartyReview, Proposal
from tests import factories

DUE = datetime(2027, 1, 4, 17, tzinfo=UTC)


def row(pid, status, pending, party, state, current, due, stage=0) -> PartyReview:
    return PartyReview(proposal_id=pid, stage_index=stage, stage=["Review", "Legal"][stage], party=party, state=state,
                       current=current, due_at=due, waiting=queries.waits_on(status, pending, party, state, current))


def test_waits_on_needs_a_current_pending_row_of_a_proposal_in_review_that_waits_on_the_party():
    assert queries.waits_on("in_review", ["sony"], "sony", "pending", current=True)
    assert not queries.waits_on("in_review", ["sony"], "sony", "pending", current=False)
    assert not queries.waits_on("in_review", ["sony"], "sony", "approved", current=True)
    assert not queries.waits_on("in_review", ["warner"], "sony", "pending", current=True)
    assert not queries.waits_on("rejected", ["sony"], "sony", "pending", current=True)


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
            session.add(row(pid, status, pending, "sony", state, current, DUE + timedelta(hours=offset)))
            if "warner" in pending:
                session.add(row(pid, status, pending, "warner", "pending", True, DUE))
    with transaction(any_engine) as session:  # ...whose current row is in the next stage
        session.add(row(5_150_004, "in_review", ["sony"], "sony", "pending", True, DUE + timedelta(days=9), stage=1))
    with Session(any_engine) as session:
        sony = queries.inbox_rows(session, "sony")
        assert [p.id for p, _ in sony] == [5_150_000, 5_150_001, 5_150_004]
        assert [p.id for p in queries.inbox(session, "sony")] == [5_150_000, 5_150_001, 5_150_004]  # the API's
        assert queries.inbox_count(session, "sony") == 3
        assert queries.inbox_count(session, "warner") == len(queries.inbox_rows(session, "warner")) == 2
        assert queries.inbox_count(session, "merlin") == 0
