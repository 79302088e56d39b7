"""CheckpointWorkflow: signs a checkpoint of the whole audit log. A Temporal
Schedule starts it (hourly by default, `ensure_schedule`); the step that
concludes a proposal signs one too, from its activity (ProposalActivities),
so the proposal workflow's history is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from countersign.domain import merkle
    from countersign.domain.checkpoint import Signer
    from countersign.storage import checkpoints
    from countersign.storage.db import transaction
    from workflows import schedules

if TYPE_CHECKING:
    from workflows.webhook_delivery import WebhookWaker

SCHEDULE_ID = "countersign-checkpoints"


@dataclass
class CheckpointInput:
    pass


@dataclass
class CheckpointResult:
    size: int | None  # the new checkpoint's, or None when the log had not grown


class CheckpointActivities:
    def __init__(self, engine: Engine, signer: Signer, parties: list[str], base_url: str,
                 webhook_waker: WebhookWaker | None = None) -> None:
        self._engine = engine
        self._signer = signer
        self._parties = parties  # the organisations mailed each checkpoint, with the platform
        self._base_url = base_url  # the web app's, for the mail's link
        self._webhook_waker = webhook_waker  # wakes the delivery of the checkpoint's webhooks
        # The tree as of the last checkpoint this process signed: leaves are
        # append-only, so any committed prefix stays valid, and each checkpoint
        # reads only the leaves added since instead of the whole log.
        self._frontier: merkle.Frontier | None = None

    def sign_now(self) -> CheckpointResult:
        with transaction(self._engine) as session:
            signing = checkpoints.sign(session, self._signer, datetime.now(UTC), self._parties, self._frontier,
                                       self._base_url)
        self._frontier = signing.frontier  # committed: safe to build on
        if signing.woken and self._webhook_waker is not None:
            self._webhook_waker.wake_from_thread(signing.woken)
        signed = signing.signed
        return CheckpointResult(signed.checkpoint.size if signed else None)

    @activity.defn(name="sign_checkpoint")
    def sign_checkpoint(self, _: CheckpointInput) -> CheckpointResult:
        return self.sign_now()


@workflow.defn
class CheckpointWorkflow:
    @workflow.run
    async def run(self, request: CheckpointInput) -> CheckpointResult:
        return await workflow.execute_activity(
            "sign_checkpoint", request, result_type=CheckpointResult,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=10),
        )


async def ensure_schedule(client: Client, task_queue: str, every: timedelta,
                          schedule_id: str = SCHEDULE_ID) -> None:
    """Create the checkpoint Schedule or bring it up to date (each worker does at start)."""
    await schedules.ensure(client, schedule_id, CheckpointWorkflow.run, CheckpointInput(), task_queue, every)
