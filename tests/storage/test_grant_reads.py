"""The grants read model's queries on SQLite and PostgreSQL: the check, the
dashboard's expiring grants and evidence waiting on a label."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from countersign.storage import grants
from countersign.storage.db import transaction
from countersign.storage.grant_tables import GrantRecord, ObligationRecord
from countersign.storage.tables import Proposal
from tests.storage.test_read_model import add_proposal

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
PID = 4_242_431


def seed(engine) -> None:
    add_proposal(engine, id=PID, status="approved", parties=["sony", "warner"])
    with transaction(engine) as session:
        for party, state, days in (("sony", "active", 10), ("warner", "suspended", 400)):
            session.add(GrantRecord(proposal_id=PID, party=party, state=state, scope="pilot", markets=["GB"],
                                    starts_at=NOW, expires_at=NOW + timedelta(days=days), version=1))
        session.add(ObligationRecord(proposal_id=PID, number=1, party="sony", text="Report", state="open",
                                     due_at=NOW - timedelta(seconds=1)))
        session.add(ObligationRecord(proposal_id=PID, number=2, party="warner", text="Credits", state="submitted",
                                     due_at=NOW + timedelta(days=3), evidence="Done"))


def test_the_check_reads_one_grant_and_its_overdue_obligations(any_engine):
    seed(any_engine)
    with Session(any_engine) as session:
        answer, grant = grants.check(session, PID, "sony", "pilot", NOW, deny_when_obligation_overdue=False)
        assert (answer.allowed, answer.reason) == (True, "granted") and grant["markets"] == ["GB"]
        assert grants.check(session, PID, "sony", "pilot", NOW, True)[0].reason == "obligation_overdue"
        assert grants.check(session, PID, "sony", "broad_rollout", NOW, False)[0].reason == "out_of_scope"
        assert grants.check(session, PID, "warner", None, NOW, True)[0].reason == "suspended"
        assert grants.check(session, PID, "merlin", None, NOW, True) == (grants.check_grant(None, None, None, None, False, NOW), None)
        later = NOW + timedelta(days=11)
        answer, grant = grants.check(session, PID, "sony", "pilot", later, False)
        assert answer.reason == "expired" and grant["state"] == "expired"  # before the timer records it


def test_a_labels_dashboard_lists_its_grants_expiring_soon_and_evidence_waiting_on_it(any_engine):
    seed(any_engine)
    with Session(any_engine) as session:
        assert [row.party for row in grants.expiring(session, "sony", NOW, timedelta(days=45))] == ["sony"]
        assert grants.expiring(session, "warner", NOW, timedelta(days=45)) == []
        [waiting] = grants.evidence_to_review(session, "warner")
        assert (waiting.number, waiting.title) == (2, "AI remix studio")
        assert grants.evidence_to_review(session, "sony") == []
        owner = session.get(Proposal, PID).owner_id
        assert [row.number for row in grants.evidence_to_submit(session, owner)] == [1]  # the submitted one waits on warner
