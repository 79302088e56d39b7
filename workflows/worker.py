"""The worker: runs ProposalWorkflow and its activities on one task queue."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from countersign.domain import calendar
from countersign.domain.checkpoint import Signer
from countersign.domain.links import LinkSigner
from countersign.domain.policy import Policy, load_policy
from workflows import sandbox
from workflows.activities import ProposalActivities
from workflows.checkpoint import CheckpointActivities, CheckpointWorkflow
from workflows.proposal import ProposalWorkflow
from workflows.webhook_delivery import DeliveryPolicy, WebhookActivities, WebhookDeliveryWorkflow, WebhookWaker
from workflows.webhook_sweep import WebhookSweepActivities, WebhookSweepWorkflow

# Open proposals wait weeks on timers; a bounded cache keeps memory flat and
# evicted workflows are replayed from history when they wake.
MAX_CACHED_WORKFLOWS = 2000

# Calendars of the shipped policy: proposals started under it keep running
# after the policy file changes.
DEFAULT_CALENDARS = {party.holidays for party in load_policy().parties.values()}


def build_worker(client: Client, engine: Engine, task_queue: str, policy: Policy,
                 base_url: str = "http://127.0.0.1:8000", link_secret: str | None = None,
                 checkpoint_signer: Signer | None = None, webhook_policy: DeliveryPolicy | None = None,
                 **options) -> Worker:
    """`base_url` is the web app's address, for links in e-mail; with
    `link_secret` (the app's secret) reps' mail carries signed decision links;
    with `checkpoint_signer`, checkpoints of the audit log are signed when a
    proposal concludes and when the checkpoint Schedule says; `webhook_policy`: the retries
    and timeout of webhook deliveries (default: 8 attempts over about a day, 10 s each)."""
    calendar.preload({party.holidays for party in policy.parties.values()} | DEFAULT_CALENDARS)
    links = LinkSigner(link_secret, base_url) if link_secret else None
    waker = WebhookWaker(client, task_queue, _running_loop())
    checkpoints = (CheckpointActivities(engine, checkpoint_signer, list(policy.parties), base_url, waker)
                   if checkpoint_signer else None)
    activities = ProposalActivities(engine, policy.parties, base_url, links, checkpoints, waker)
    hooks = WebhookActivities(engine, webhook_policy, base_url)
    sweep = WebhookSweepActivities(engine, task_queue)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[ProposalWorkflow, CheckpointWorkflow, WebhookDeliveryWorkflow, WebhookSweepWorkflow],
        activities=[activities.record_step, hooks.pending, hooks.deliver, hooks.disable, sweep.sweep]
        + ([checkpoints.sign_checkpoint] if checkpoints else []),
        activity_executor=ThreadPoolExecutor(max_workers=16),
        workflow_runner=sandbox.runner(),
        **({"max_cached_workflows": MAX_CACHED_WORKFLOWS} | options),
    )


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The loop the worker will run on (workers are built inside it): the step's
    activity threads wake webhook deliveries through it."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
