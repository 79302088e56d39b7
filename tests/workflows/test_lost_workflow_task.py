"""A workflow task that wrote its step and then never completed (the worker
died after the local activity's commit) is run again by Temporal; the step
is recorded again, and the database ends as the history says. On the dev
server: the time-skipping test server does not retry a failed workflow task."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from countersign.domain import calendar
from countersign.domain.reconcile import ERROR
from countersign.domain.routing import Review
from countersign.storage import audit
from countersign.storage.tables import AuditEntry, Decision
from tests import factories
from tests.workflows.crash_variant import FailsOnceAfterWritingADecision
from tests.workflows.test_proposal_workflow import decision, start
from workflows import client as wf
from workflows import sandbox
from workflows.activities import ProposalActivities
from workflows.history import reconcile_proposal
from workflows.messages import DecisionRecord, StepRecord
from workflows.worker import build_worker


async def decide_until_answered(client, pid: int, decision_id: str, seconds: float = 60):
    """As an integration does: the same decision id again until it is answered.
    Temporal refuses updates while the workflow task is in failed state."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return await wf.decide(client, pid, decision("sony"), decision_id)
        except wf.WorkflowUnavailable:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def test_a_step_written_by_a_lost_workflow_task_is_recorded_once(dev_temporal, engine, task_queue, caplog):
    policy = factories.policy()
    calendar.preload({party.holidays for party in policy.parties.values()})
    activities = ProposalActivities(engine, policy.parties, "http://countersign.test")
    caplog.set_level(logging.WARNING, logger="workflows.activities")
    async with Worker(dev_temporal.client, task_queue=task_queue, workflows=[FailsOnceAfterWritingADecision],
                      activities=[activities.record_step], activity_executor=ThreadPoolExecutor(4),
                      workflow_runner=SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default
                                                              .with_passthrough_modules(*sandbox.PASSTHROUGH,
                                                                                        "tests.workflows.crash_state"))):
        pid = await start(dev_temporal, engine, task_queue, parties=["sony", "merlin"])
        decision_id = f"lost-{uuid.uuid4().hex[:8]}"
        result = await decide_until_answered(dev_temporal.client, pid, decision_id)
        assert result.status == "in_review"
        history = await dev_temporal.client.get_workflow_handle(f"proposal-{pid}").fetch_history()
        assert any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED for e in history.events)
        assert "is recorded again" in caplog.text  # the re-run replaced what the failed task wrote

        with Session(engine) as session:
            decisions = session.exec(select(Decision).where(Decision.proposal_id == pid)).all()
            kinds = session.exec(select(AuditEntry.kind).where(AuditEntry.proposal_id == pid)
                                 .order_by(col(AuditEntry.seq))).all()
            assert [d.decision_id for d in decisions] == [decision_id]
            assert kinds.count("decided") == 1
            assert audit.verify(session, pid).ok
            _, disagreements = await reconcile_proposal(dev_temporal.client, session, pid)
        assert [d for d in disagreements if d.severity == ERROR] == []


async def test_a_step_the_database_holds_differently_and_later_is_recorded_by_the_tasks_rerun(
        dev_temporal, engine, task_queue, caplog):
    """A lost task left its own step 2 in the database, with a time later than
    the step 2 the history keeps (however that came about: times alone cannot
    order the two). The history's step is refused rather than taken as
    recorded; the workflow fails its task, and the re-run, later than the
    stored step, replaces it."""
    policy = factories.policy()
    calendar.preload({party.holidays for party in policy.parties.values()})
    activities = ProposalActivities(engine, policy.parties, "http://countersign.test")
    caplog.set_level(logging.WARNING, logger="workflows.activities")
    async with build_worker(dev_temporal.client, engine, task_queue, policy):
        pid = await start(dev_temporal, engine, task_queue, parties=["sony", "merlin"])
        stale_at = datetime.now(UTC) + timedelta(seconds=1)
        review, _ = Review.open(policy, ["sony", "merlin"], stale_at)
        request = decision("merlin")
        events = review.decide("merlin", "approve", "", 1, request.actor, stale_at)
        activities.apply(StepRecord(pid, 2, stale_at, review.snapshot(), events,
                                    decision=DecisionRecord("stale-merlin", request, review.stage.name)))

        decision_id = f"kept-{uuid.uuid4().hex[:8]}"
        result = await decide_until_answered(dev_temporal.client, pid, decision_id)
        assert result.status == "in_review" and result.view.updated_at > stale_at
        assert "differs from the stored step" in caplog.text
        history = await dev_temporal.client.get_workflow_handle(f"proposal-{pid}").fetch_history()
        assert any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED for e in history.events)

        with Session(engine) as session:
            decisions = session.exec(select(Decision).where(Decision.proposal_id == pid)).all()
            assert [(d.decision_id, d.party, d.step) for d in decisions] == [(decision_id, "sony", 2)]
            assert audit.verify(session, pid).ok
            _, disagreements = await reconcile_proposal(dev_temporal.client, session, pid)
        assert [d for d in disagreements if d.severity == ERROR] == []
