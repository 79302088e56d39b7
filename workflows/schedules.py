"""Registering a workflow's Temporal Schedule, as each worker does at start
(the checkpoint and webhook-sweep schedules)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)


async def ensure(client: Client, schedule_id: str, run: Callable[[Any, Any], Awaitable[Any]], arg: Any,
                 task_queue: str, every: timedelta) -> None:
    """Have a Schedule start `run(arg)` every `every`, skipping a start while a run
    is still going: create it, or bring an existing one to these settings (a
    changed interval or task queue applies at the next worker start) with its
    state, such as an operator's pause, kept."""
    wanted = Schedule(
        action=ScheduleActionStartWorkflow(run, arg, id=f"{schedule_id}-run", task_queue=task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(schedule_id, wanted)
    except ScheduleAlreadyRunningError:
        async def update(current: ScheduleUpdateInput) -> ScheduleUpdate:
            wanted.state = current.description.schedule.state
            return ScheduleUpdate(schedule=wanted)

        await client.get_schedule_handle(schedule_id).update(update)
