"""WebhookSweepWorkflow: wakes the delivery workflow of every active endpoint
that has deliveries waiting, and tells proposals' workflows of the questions
and answers they have not been told of. A Temporal Schedule starts it every
minute (`ensure_schedule`, at each worker's start).

The step's activity wakes its endpoints right after its transaction commits
(workflows.webhook_delivery.WebhookWaker), and the web app tells a workflow of
a question right after storing it (workflows.question_signals). Either can
still be lost: Temporal unreachable for that moment, or the process gone
between the commit and the call (a retried step finds itself stored and wakes
no one). The sweep bounds that delay to a minute; waking a workflow that is
running only signals it, and a question told twice counts once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from sqlmodel import Session

    from countersign.storage import webhooks
    from workflows import question_signals, schedules
    from workflows.webhook_delivery import WebhookWaker

SCHEDULE_ID = "countersign-webhook-sweep"


@dataclass
class SweepInput:
    pass


@dataclass
class SweepResult:
    woken: int  # endpoints woken
    told: int = 0  # questions and answers told to their proposals' workflows


class WebhookSweepActivities:
    def __init__(self, engine: Engine, task_queue: str) -> None:
        self._engine = engine
        self._task_queue = task_queue  # where the delivery workflows run

    @activity.defn(name="webhook_sweep")
    async def sweep(self, _: SweepInput) -> SweepResult:
        ids = await asyncio.to_thread(self._waiting)
        await WebhookWaker(activity.client(), self._task_queue).wake(ids)
        told = await question_signals.tell_untold(activity.client(), self._engine)
        return SweepResult(len(ids), told)

    def _waiting(self) -> list[int]:
        with Session(self._engine) as session:
            return webhooks.endpoints_waiting(session)


@workflow.defn
class WebhookSweepWorkflow:
    @workflow.run
    async def run(self, request: SweepInput) -> SweepResult:
        return await workflow.execute_activity(
            "webhook_sweep", request, result_type=SweepResult, start_to_close_timeout=timedelta(minutes=1),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=3))


async def ensure_schedule(client: Client, task_queue: str, every: timedelta = timedelta(minutes=1),
                          schedule_id: str = SCHEDULE_ID) -> None:
    """Create the sweep's Schedule or bring it up to date (each worker does at
    start): one left on an old task queue would start sweeps no worker runs."""
    await schedules.ensure(client, schedule_id, WebhookSweepWorkflow.run, SweepInput(), task_queue, every)
