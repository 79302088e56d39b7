"""The checkpoint and webhook-sweep Schedules: registered (and brought up to
date) through the public schedule client, and a run of the checkpoint one signs
a checkpoint of the log. On the dev server: the time-skipping test server has
no schedules."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from countersign.domain.checkpoint import Signer, check_signature, new_private_key_pem
from countersign.storage import audit, checkpoints
from countersign.storage.db import transaction
from tests import factories
from workflows import webhook_sweep
from workflows.checkpoint import ensure_schedule
from workflows.worker import build_worker


async def test_the_schedule_is_registered_updated_and_signs_checkpoints(dev_temporal, engine):
    client = dev_temporal.client
    task_queue, schedule_id = f"ckpt-{uuid.uuid4().hex[:8]}", f"checkpoints-{uuid.uuid4().hex[:8]}"
    signer = Signer(new_private_key_pem())
    with transaction(engine) as session:
        for i in range(3):
            audit.append(session, None, "sign_in", datetime.now(UTC), actor=f"u{i}@example.com")

    await ensure_schedule(client, task_queue, timedelta(hours=1), schedule_id)
    handle = client.get_schedule_handle(schedule_id)
    try:
        described = await handle.describe()
        assert described.schedule.spec.intervals[0].every == timedelta(hours=1)
        assert described.schedule.action.workflow == "CheckpointWorkflow"
        await handle.pause(note="an operator's pause")
        await ensure_schedule(client, task_queue, timedelta(minutes=30), schedule_id)  # again, as at each start
        updated = (await handle.describe()).schedule
        assert updated.spec.intervals[0].every == timedelta(minutes=30)
        assert updated.state.paused  # kept

        async with build_worker(client, engine, task_queue, factories.policy(), checkpoint_signer=signer):
            await handle.trigger()
            for _ in range(100):
                with Session(engine) as session:
                    signed = checkpoints.latest(session)
                if signed is not None:
                    break
                await asyncio.sleep(0.1)
        assert signed is not None and signed.checkpoint.size == 3
        assert check_signature(signed, signer.public_key) is None
    finally:
        await handle.delete()


async def test_the_sweep_schedule_follows_a_changed_task_queue_and_keeps_a_pause(dev_temporal):
    client, schedule_id = dev_temporal.client, f"sweep-{uuid.uuid4().hex[:8]}"
    await webhook_sweep.ensure_schedule(client, "old-queue", schedule_id=schedule_id)
    handle = client.get_schedule_handle(schedule_id)
    try:
        described = (await handle.describe()).schedule
        assert described.action.workflow == "WebhookSweepWorkflow"
        assert described.action.task_queue == "old-queue"
        assert described.spec.intervals[0].every == timedelta(minutes=1)
        await handle.pause(note="an operator's pause")
        await webhook_sweep.ensure_schedule(client, "new-queue", schedule_id=schedule_id)  # the next start
        updated = (await handle.describe()).schedule
        assert updated.action.task_queue == "new-queue"  # else no worker would run its sweeps
        assert updated.state.paused  # kept
    finally:
        await handle.delete()
