"""ProposalWorkflow on the time-skipping test server, with a real worker and database."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from temporalio.api.enums.v1 import EventType

from countersign.domain import errors
from countersign.storage.tables import AuditEntry, Decision, PartyReview, Proposal
from tests import factories
from workflows import client as wf
from workflows.messages import DecisionRequest, ProposalInput, UpdateResult, WithdrawRequest

_ids = itertools.count(1)


async def start(env, engine, task_queue, policy=None, **overrides) -> int:
    proposal_id = next(_ids) + uuid.uuid4().int % 10**8
    factories.user(engine, "lead") if not _has_user(engine, "lead@example.com") else None
    body = factories.submission(**overrides)
    await wf.start_proposal(
        env.client, task_queue, ProposalInput(proposal_id, "lead@example.com", body, policy or factories.policy())
    )
    return proposal_id


def _has_user(engine, email) -> bool:
    from countersign.storage.tables import User

    with Session(engine) as s:
        return s.exec(select(User).where(User.email == email)).first() is not None


def decision(party, verdict="approve", comment="", version=1):
    return DecisionRequest(party, verdict, comment, version, f"rep.{party}@example.com")


async def test_all_five_approve(temporal_env, engine, task_queue, worker):
    pid = await start(temporal_env, engine, task_queue)
    with Session(engine) as s:
        stored = s.get(Proposal, pid)
        assert stored.status == "in_review" and stored.pending == list(factories.PARTIES)
    for party in factories.PARTIES:
        result = await wf.decide(temporal_env.client, pid, decision(party), str(uuid.uuid4()))
    assert result.status == "approved"
    assert await temporal_env.client.get_workflow_handle(f"proposal-{pid}").result() == "approved"
    with Session(engine) as s:
        assert s.get(Proposal, pid).status == "approved"
        assert len(s.exec(select(Decision).where(Decision.proposal_id == pid)).all()) == 5
        kinds = [e.kind for e in s.exec(select(AuditEntry).where(AuditEntry.proposal_id == pid).order_by(AuditEntry.seq))]
        assert kinds == ["submitted", "routed"] + ["decided"] * 5 + ["concluded"]


async def test_validators_refuse_bad_decisions(temporal_env, engine, task_queue, worker):
    pid = await start(temporal_env, engine, task_queue, parties=["sony", "merlin"])
    with pytest.raises(errors.NotPendingParty, match="does not touch warner"):
        await wf.decide(temporal_env.client, pid, decision("warner"), "d1")
    with pytest.raises(errors.StaleVersion, match="version 2"):
        await wf.decide(temporal_env.client, pid, decision("sony", version=2), "d2")
    with pytest.raises(errors.InvalidDecision, match="reason"):
        await wf.decide(temporal_env.client, pid, decision("sony", "reject"), "d3")
    await wf.decide(temporal_env.client, pid, decision("sony"), "d4")
    with pytest.raises(errors.NotPendingParty, match="already decided"):
        await wf.decide(temporal_env.client, pid, decision("sony", "reject", "no"), "d5")


async def test_same_decision_id_counts_once(temporal_env, engine, task_queue, worker):
    pid = await start(temporal_env, engine, task_queue, parties=["sony", "merlin"])
    first = await wf.decide(temporal_env.client, pid, decision("sony"), "same-id")
    again = await wf.decide(temporal_env.client, pid, decision("sony"), "same-id")
    assert first == again
    with Session(engine) as s:
        assert len(s.exec(select(Decision).where(Decision.proposal_id == pid)).all()) == 1


async def test_reject_concludes_rejected(temporal_env, engine, task_queue, worker):
    pid = await start(temporal_env, engine, task_queue)
    result = await wf.decide(temporal_env.client, pid, decision("warner", "reject", "No voice features."), "r1")
    assert result.status == "rejected"
    with pytest.raises(errors.ProposalClosed):
        await wf.decide(temporal_env.client, pid, decision("sony"), "r2")


async def test_withdraw(temporal_env, engine, task_queue, worker):
    pid = await start(temporal_env, engine, task_queue)
    result = await wf.withdraw(temporal_env.client, pid, WithdrawRequest("lead@example.com", "Scope changed"))
    assert result.status == "withdrawn"
    with Session(engine) as s:
        assert s.get(Proposal, pid).status == "withdrawn"


async def test_decisions_keep_the_deadline_timer_and_each_step_is_a_scheduled_activity(
        temporal_env, engine, task_queue, worker):
    """What each decision costs the history: the deadline timer is started
    once, not again at every decision that leaves the deadline where it was,
    and each step is a scheduled `record_step` whose input, the step record,
    the history keeps."""
    pid = await start(temporal_env, engine, task_queue)
    # The labels' due times differ with their time zones when their dates do
    # (late evening in America is the next day in Europe): the three due
    # last decide, so one holding the earliest stays pending.
    with Session(engine) as s:
        rows = s.exec(select(PartyReview).where(PartyReview.proposal_id == pid, PartyReview.current)).all()
    deciding = [row.party for row in sorted(rows, key=lambda row: row.due_at, reverse=True)][:3]
    for party in deciding:
        await wf.decide(temporal_env.client, pid, decision(party), str(uuid.uuid4()))
    history = await temporal_env.client.get_workflow_handle(f"proposal-{pid}").fetch_history()
    kinds = [EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in history.events]
    assert kinds.count("WORKFLOW_EXECUTION_UPDATE_COMPLETED") == 4  # stored + three decisions
    assert kinds.count("TIMER_STARTED") == 1 and "TIMER_CANCELED" not in kinds
    assert "MARKER_RECORDED" not in kinds  # no local activity
    scheduled = [e.activity_task_scheduled_event_attributes for e in history.events
                 if e.HasField("activity_task_scheduled_event_attributes")]
    assert {a.activity_type.name for a in scheduled} == {"record_step"}
    records = [json.loads(a.input.payloads[0].data) for a in scheduled]
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    assert [r["decision"]["request"]["party"] for r in records[1:]] == deciding
    assert records[-1]["snapshot"]["status"] == "in_review"
    assert kinds.count("ACTIVITY_TASK_COMPLETED") == 4


async def test_an_update_answers_with_the_status_and_version_its_step_stored(temporal_env, engine, task_queue,
                                                                              worker):
    pid = await start(temporal_env, engine, task_queue, parties=["sony", "merlin"])
    await temporal_env.sleep(timedelta(days=12))  # past the first reminder, before any expiry
    result = await wf.decide(temporal_env.client, pid, decision("sony"), str(uuid.uuid4()))
    assert result == UpdateResult("in_review", 1)
    with Session(engine) as s:
        stored = s.get(Proposal, pid)
        kinds = s.exec(select(AuditEntry.kind).where(AuditEntry.proposal_id == pid).order_by(AuditEntry.seq)).all()
    assert (stored.status, stored.version) == (result.status, result.version)
    assert "reminded" in kinds and kinds[-1] == "decided"  # timer steps came first
    final = await wf.decide(temporal_env.client, pid, decision("merlin"), str(uuid.uuid4()))
    assert final == UpdateResult("approved", 1)
