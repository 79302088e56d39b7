"""Reconciliation's comparison rules on plain data, and the history reader
on a real workflow's history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from countersign.domain.reconcile import (
    WARNING,
    RecordedDecision,
    RecordedEvent,
    RecordedStep,
    StoredDecision,
    StoredEntry,
    StoredProposal,
    UpdateCall,
    WorkflowFacts,
    align,
    reconcile,
)
from countersign.storage import audit
from tests.audit.conftest import decide, submit
from workflows import history

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
SUBMITTED = RecordedEvent("submitted", T0, actor="lead@example.com", detail={"version": "1"})
ROUTED = RecordedEvent("routed", T0, detail={"stage": "Review", "parties": "sony"})
DECIDED = RecordedEvent(
    "decided",
    T1,
    party="sony",
    actor="rep.sony@example.com",
    detail={"decision": "approve", "version": "1", "stage": "Review", "comment": "ok"},
)
CONCLUDED = RecordedEvent("concluded", T1, detail={"status": "approved"})
DECISION = RecordedDecision("d1", "sony", "approve", 1, "rep.sony@example.com", "ok", "Review")


def facts(
    *, in_flight: bool = False, status: str = "COMPLETED", result: str | None = "approved"
) -> WorkflowFacts:
    return WorkflowFacts(
        "proposal-1",
        status=status,
        result=result,
        steps=[
            RecordedStep(1, T0, [SUBMITTED, ROUTED], "in_review", 1, True, 5),
            RecordedStep(2, T1, [DECIDED, CONCLUDED], "approved", 1, not in_flight, 12, DECISION),
        ],
        updates=[UpdateCall("d1", "decide", [], "pending" if in_flight else "success")],
    )


def trail(*events: RecordedEvent) -> list[StoredEntry]:
    return [
        StoredEntry(n, e.kind, e.at, e.actor, e.party, dict(e.detail)) for n, e in enumerate(events, start=1)
    ]


ROW = StoredDecision("d1", "sony", "approve", 1, "rep.sony@example.com", "ok", "Review", T1)
APPROVED = StoredProposal(1, "approved", 1)
FULL = trail(SUBMITTED, ROUTED, DECIDED, CONCLUDED)


def kinds(found) -> list[str]:
    return [d.kind for d in found]


def test_agreement_is_silent():
    assert reconcile(1, APPROVED, [ROW], FULL, facts()) == []
    assert align(FULL, facts()) == {
        1: facts().steps[0],
        2: facts().steps[0],
        3: facts().steps[1],
        4: facts().steps[1],
    }


def test_a_decision_missing_from_the_database():
    found = reconcile(1, APPROVED, [], FULL, facts())
    assert sorted(kinds(found)) == ["decision_missing_from_database", "decision_missing_from_database"]
    assert any(
        "d1 (sony approve on version 1 by rep.sony@example.com) is in the Temporal history" in d.message
        for d in found
    )


def test_a_decision_the_workflow_never_accepted():
    extra = StoredDecision("forged", "warner", "approve", 1, "rep.warner@example.com", None, "Review", T1)
    found = reconcile(1, APPROVED, [ROW, extra], FULL, facts())
    assert sorted(kinds(found)) == ["decision_missing_from_history", "decision_missing_from_trail"]


def test_a_decision_that_differs():
    changed = StoredDecision("d1", "sony", "reject", 1, "rep.sony@example.com", "no", "Review", T1)
    found = reconcile(1, APPROVED, [changed], FULL, facts())
    assert "decision_differs" in kinds(found)
    differs = next(d for d in found if d.kind == "decision_differs")
    assert "decision is 'reject' in the database, 'approve' in the history" in differs.message
    assert "comment is 'no' in the database, 'ok' in the history" in differs.message


def test_a_step_in_flight_may_or_may_not_be_written_yet():
    running = facts(in_flight=True, status="RUNNING", result=None)
    assert reconcile(1, StoredProposal(1, "in_review", 1), [], trail(SUBMITTED, ROUTED), running) == []
    assert reconcile(1, APPROVED, [ROW], FULL, running) == []


def test_extra_and_missing_trail_entries():
    reminded = RecordedEvent("reminded", T1, party="sony", detail={"stage": "Review"})
    found = reconcile(1, APPROVED, [ROW], trail(SUBMITTED, ROUTED, reminded, DECIDED, CONCLUDED), facts())
    assert kinds(found) == ["missing_from_history"]
    assert "audit entry seq 3 'reminded'" in found[0].message
    found = reconcile(1, APPROVED, [ROW], trail(SUBMITTED, DECIDED, CONCLUDED), facts())
    assert kinds(found) == ["missing_from_trail"]
    assert "workflow step 1 recorded 'routed'" in found[0].message


def test_status_against_the_workflow():
    found = reconcile(1, StoredProposal(1, "rejected", 1), [ROW], FULL, facts())
    assert {"status_mismatch"} == set(kinds(found))
    assert any("the workflow completed with approved" in d.message for d in found)
    assert any("the audit trail concluded approved" in d.message for d in found)
    terminated = reconcile(1, APPROVED, [ROW], FULL, facts(status="TERMINATED", result=None))
    assert kinds(terminated) == ["workflow_closed"]
    assert "ended terminated" in terminated[0].message


def test_without_a_history_the_database_is_still_compared():
    gone = WorkflowFacts("proposal-1", found=False, error="Temporal has no workflow proposal-1")
    found = reconcile(1, APPROVED, [ROW], FULL, gone)
    assert [(d.kind, d.severity) for d in found] == [("history_unavailable", WARNING)]
    found = reconcile(1, APPROVED, [], FULL, gone)
    assert "decision_missing_from_database" in kinds(found)


async def test_history_reader_on_a_real_workflow(api, temporal_env, engine):
    proposal = await submit(api, parties=["sony", "warner"])
    await decide(
        api,
        "sony",
        proposal["id"],
        decision="approve_with_conditions",
        comment="Credit us",
        decision_id="sony-c",
    )
    await decide(api, "warner", proposal["id"], decision="reject", comment="Not now", decision_id="warner-r")
    loaded = await history.load(temporal_env.client, proposal["id"])
    f = loaded.facts
    assert f.found and f.status == "COMPLETED" and f.result == "rejected"
    assert [s.step for s in f.steps] == [1, 2, 3] and all(s.completed for s in f.steps)
    assert [e.kind for e in f.steps[0].events] == ["submitted", "routed"]
    assert set(f.decisions()) == {"sony-c", "warner-r"}
    assert f.decisions()["sony-c"].comment == "Credit us"
    assert {(u.name, u.update_id, u.outcome) for u in f.updates if u.name == "decide"} == {
        ("decide", "sony-c", "success"),
        ("decide", "warner-r", "success"),
    }
    types = [r.type for r in loaded.rows]
    assert types[0] == "Workflow execution started" and types[-1] == "Workflow execution completed"
    with Session(engine) as session:
        stored, decisions, entries = audit.stored_state(session, proposal["id"])
    assert [e.kind for e in entries] == [e.kind for s in f.steps for e in s.events]
    assert reconcile(proposal["id"], stored, decisions, entries, f) == []


async def test_history_of_an_unknown_workflow(temporal_env):
    loaded = await history.load(temporal_env.client, 987654321)
    assert not loaded.facts.found and "no workflow proposal-987654321" in loaded.facts.error
