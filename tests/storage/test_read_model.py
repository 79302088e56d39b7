"""The read model's column types behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy
from sqlmodel import Session, col, select

from countersign.domain.routing import Verdict
from countersign.storage.db import transaction
from countersign.storage.tables import AuditEntry, Decision, Proposal, ProposalNumber
from tests import factories

# Ids clear of the blocks conftest reserves per test (multiples of 100,000).
IDS = [4_242_421, 4_242_422, 4_242_423]
PARIS_NOON = datetime(2026, 3, 29, 12, 0, 0, 123456, tzinfo=ZoneInfo("Europe/Paris"))  # the day clocks go forward


def add_proposal(engine, **fields) -> int:
    owner = factories.user(engine, "lead")
    now = datetime.now(UTC)
    values = dict(id=1, owner_id=owner.id, title="AI remix studio", capability="remix", parties=["sony"],
                  status="in_review", version=1, stage="Review", pending=["sony"], created_at=now, updated_at=now)
    values |= fields
    with transaction(engine) as session:
        session.add(Proposal(**values))
    return values["id"]


def test_aware_datetimes_come_back_equal_and_in_utc(any_engine):
    moments = [PARIS_NOON, datetime(2027, 1, 1, tzinfo=timezone(timedelta(hours=-5))), datetime.now(UTC)]
    with transaction(any_engine) as session:
        rows = [ProposalNumber(id=pid, allocated_at=at) for pid, at in zip(IDS, moments)]
        session.add_all(rows)
    with Session(any_engine) as session:
        stored = [session.get(ProposalNumber, row.id).allocated_at for row in rows]
    assert stored == moments  # the same instants, to the microsecond
    assert all(at.utcoffset() == timedelta(0) for at in stored)


def test_naive_datetimes_are_refused(any_engine):
    with pytest.raises(sqlalchemy.exc.StatementError, match="naive datetime"):
        with transaction(any_engine) as session:
            session.add(ProposalNumber(id=IDS[0], allocated_at=datetime(2026, 1, 1)))


def test_datetimes_order_and_compare_as_instants(any_engine):
    """An earlier instant written in a later-looking local time still sorts first."""
    tokyo = datetime(2026, 6, 1, 8, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 23:00 UTC the day before
    london = datetime(2026, 6, 1, 0, 30, tzinfo=ZoneInfo("Europe/London"))  # 23:30 UTC the day before
    with transaction(any_engine) as session:
        session.add_all([ProposalNumber(id=IDS[0], allocated_at=london), ProposalNumber(id=IDS[1], allocated_at=tokyo)])
    with Session(any_engine) as session:
        query = select(ProposalNumber.id).where(col(ProposalNumber.id).in_(IDS))
        ordered = session.exec(query.order_by(ProposalNumber.allocated_at)).all()
        later = session.exec(query.where(ProposalNumber.allocated_at > tokyo)).all()
    assert ordered == [IDS[1], IDS[0]]
    assert later == [IDS[0]]


def test_json_columns_round_trip(any_engine):
    detail = {"stage": "Légal ✓", "parties": ["sony", "merlin"], "nested": {"n": 3, "ok": True, "none": None}}
    pid = add_proposal(any_engine, parties=["sony", "merlin"], pending=[], outcome_scope=None)
    with transaction(any_engine) as session:
        session.add(AuditEntry(proposal_id=pid, seq=1, kind="routed", at=PARIS_NOON, detail=detail,
                               prev_hash="0" * 64, hash="1" * 64))
    with Session(any_engine) as session:
        proposal = session.get(Proposal, pid)
        entry = session.exec(select(AuditEntry).where(AuditEntry.proposal_id == pid)).one()
    assert proposal.parties == ["sony", "merlin"]
    assert proposal.pending == []
    assert proposal.outcome_scope is None
    assert entry.detail == detail


def test_a_decision_id_counts_once(any_engine):
    pid = add_proposal(any_engine)

    def decision() -> Decision:
        return Decision(decision_id="form-42", proposal_id=pid, version=1, stage="Review", party="sony",
                        decision=Verdict.APPROVE_WITH_CONDITIONS, comment="Credit the producers.",
                        actor="rep.sony@example.com", decided_at=PARIS_NOON)

    with transaction(any_engine) as session:
        session.add(decision())
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        with transaction(any_engine) as session:
            session.add(decision())
    with Session(any_engine) as session:
        stored = session.exec(select(Decision).where(Decision.proposal_id == pid)).all()
    assert [(d.decision, d.decided_at) for d in stored] == [(Verdict.APPROVE_WITH_CONDITIONS, PARIS_NOON)]

