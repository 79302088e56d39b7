"""A step is recorded once, as the history has it, whatever is lost on the
way: the workflow task that receives the step's result (the worker died
before completing it), or the activity's own outcome (its transaction
committed, its answer never arrived). Each time the audit chain holds
exactly what the history holds.

The lost workflow task runs on the dev server: the time-skipping test server
does not retry a failed workflow task."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from countersign.domain import calendar
from countersign.domain.reconcile import ERROR
from countersign.storage import audit
from countersign.storage.tables import AuditEntry, Decision
from tests import factories
from tests.workflows.crash_variant import FailsOnceAfterRecordingADecision
from tests.workflows.test_proposal_workflow import decision, start
from workflows import client as wf
from workflows import sandbox
from workflows.activities import ProposalActivities
from workflows.history import reconcile_proposal
from workflows.messages import StepRecord
from workflows.proposal import ProposalWorkflow


async def decide_until_answered(client, pid: int, party: str, decision_id: str, seconds: float = 60):
    """As an integration does: the same decision id again until it is answered.
    Temporal refuses updates while the workflow task is in failed state."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return await wf.decide(client, pid, decision(party), decision_id)
        except wf.WorkflowUnavailable:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


class LosesTheFirstOutcomeOfADecision(ProposalActivities):
    """Commits a decision's step, then fails its first attempt: as if the
    answer had been lost on its way to Temporal."""

    @activity.defn(name="record_step")
    def record_step(self, record: StepRecord) -> None:
        super().record_step(record)
        if record.decision and activity.info().attempt == 1:
            raise RuntimeError("simulated: the step is stored, its outcome lost")


def worker(client, task_queue: str, engine, workflow_class=ProposalWorkflow,
           activities_class=ProposalActivities) -> Worker:
    policy = factories.policy()
    calendar.preload({party.holidays for party in policy.parties.values()})
    activities = activities_class(engine, policy.parties, "http://countersign.test")
    restrictions = SandboxRestrictions.default.with_passthrough_modules(*sandbox.PASSTHROUGH,
                                                                        "tests.workflows.crash_state")
    return Worker(client, task_queue=task_queue, workflows=[workflow_class], activities=[activities.record_step],
                  activity_executor=ThreadPoolExecutor(4),
                  workflow_runner=SandboxedWorkflowRunner(restrictions=restrictions))


async def recorded_once_as_the_history_says(client, engine, pid: int) -> list:
    """The history's steps, each scheduled once, are what the database holds
    (audit chain, decisions); returns the history's events."""
    history = await client.get_workflow_handle(f"proposal-{pid}").fetch_history()
    records = [json.loads(e.activity_task_scheduled_event_attributes.input.payloads[0].data)
               for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]
    assert [r["step"] for r in records] == list(range(1, len(records) + 1))  # no step scheduled twice
    with Session(engine) as session:
        entries = session.exec(select(AuditEntry).where(AuditEntry.proposal_id == pid)
                               .order_by(col(AuditEntry.seq))).all()
        decisions = session.exec(select(Decision).where(Decision.proposal_id == pid)
                                 .order_by(col(Decision.id))).all()
        assert audit.verify(session, pid).ok
        _, disagreements = await reconcile_proposal(client, session, pid)
    assert [d for d in disagreements if d.severity == ERROR] == []
    assert [(e.step, e.kind, e.party) for e in entries] == [
        (r["step"], event["kind"], event.get("party")) for r in records for event in r["events"]]
    assert [(d.decision_id, d.step) for d in decisions] == [
        (r["decision"]["decision_id"], r["step"]) for r in records if r.get("decision")]
    return history.events


async def test_a_workflow_task_lost_after_its_step_was_recorded_does_not_record_it_again(
        dev_temporal, engine, task_queue):
    async with worker(dev_temporal.client, task_queue, engine, FailsOnceAfterRecordingADecision):
        pid = await start(dev_temporal, engine, task_queue, parties=["sony", "merlin"])
        decision_id = f"lost-{uuid.uuid4().hex[:8]}"
        result = await decide_until_answered(dev_temporal.client, pid, "sony", decision_id)
        assert result.status == "in_review"
        # The re-run replays the step from the history: its activity is not run again.
        events = await recorded_once_as_the_history_says(dev_temporal.client, engine, pid)
        kinds = [e.event_type for e in events]
        assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED in kinds
        assert kinds.count(EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) == 2  # the opening and sony's decision
        assert (await decide_until_answered(dev_temporal.client, pid, "merlin", "merlin-1")).status == "approved"
        await recorded_once_as_the_history_says(dev_temporal.client, engine, pid)


async def test_a_step_whose_outcome_was_lost_is_recorded_once(temporal_env, engine, task_queue):
    async with worker(temporal_env.client, task_queue, engine, activities_class=LosesTheFirstOutcomeOfADecision):
        pid = await start(temporal_env, engine, task_queue, parties=["sony", "merlin"])
        assert (await wf.decide(temporal_env.client, pid, decision("sony"), "sony-1")).status == "in_review"
        assert (await wf.decide(temporal_env.client, pid, decision("merlin"), "merlin-1")).status == "approved"
        events = await recorded_once_as_the_history_says(temporal_env.client, engine, pid)
    attempts = [e.activity_task_started_event_attributes.attempt for e in events
                if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED]
    assert attempts == [1, 2, 2]  # the opening, then each decision's retry, which found its step stored
