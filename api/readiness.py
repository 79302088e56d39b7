"""Whether this web process can serve requests that need every part:
the database, Temporal and a worker polling the task queue.

Under `countersign up` the supervisors' view (api.supervisor.Health) says at
once that a part is down; elsewhere (web and worker as separate services)
Temporal is asked whether a worker polled the task queue recently.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

TIMEOUT = timedelta(seconds=2)
# A worker long-polls for up to a minute; a poller Temporal has not heard from in longer is gone.
POLLER_FRESH = timedelta(seconds=90)
RETRY_AFTER = "5"  # seconds: about one restart of a part under `up`


@dataclass
class Check:
    ok: bool
    detail: str


def _database(engine) -> Check:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return Check(True, "reachable")


async def database(request: Request) -> Check:
    try:
        return await asyncio.wait_for(run_in_threadpool(_database, request.app.state.engine),
                                      TIMEOUT.total_seconds())
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        return Check(False, f"unreachable: {type(error).__name__}")


async def temporal(request: Request) -> Check:
    down = _supervised_down(request, "Temporal server")
    if down:
        return down
    try:
        await request.app.state.temporal.service_client.check_health(timeout=TIMEOUT)
    except Exception as error:  # noqa: BLE001
        return Check(False, f"unreachable: {str(error)[:200] or type(error).__name__}")
    return Check(True, "reachable")


async def worker(request: Request) -> Check:
    down = _supervised_down(request, "worker")
    if down:
        return down
    client = request.app.state.temporal
    queue = request.app.state.settings.task_queue
    try:
        answer = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(namespace=client.namespace, task_queue=TaskQueue(name=queue),
                                     task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
            timeout=TIMEOUT)
    except Exception as error:  # noqa: BLE001
        return Check(False, f"cannot ask Temporal: {str(error)[:200] or type(error).__name__}")
    now = datetime.now(UTC)
    fresh = [p for p in answer.pollers if now - p.last_access_time.ToDatetime(tzinfo=UTC) < POLLER_FRESH]
    if not fresh:
        return Check(False, f"no worker has polled task queue {queue!r} in the last {POLLER_FRESH.seconds} s")
    return Check(True, f"{len(fresh)} poller(s) on {queue!r}")


def _supervised_down(request: Request, name: str) -> Check | None:
    health = getattr(request.app.state, "health", None)
    part = health.parts.get(name) if health else None
    if part is not None and not part.running:
        return Check(False, f"{part.state}: {part.last_error or 'starting'}")
    return None


def part_down(request: Request) -> str | None:
    """The supervised part a workflow call would wait for, if it is down now (`up` only)."""
    health = getattr(request.app.state, "health", None)
    for part in (health.parts.values() if health else ()):
        if not part.running:
            return f"the {part.name} is {part.state}"
    return None


async def checks(request: Request) -> dict[str, Check]:
    found = await asyncio.gather(database(request), temporal(request), worker(request))
    return dict(zip(("database", "temporal", "worker"), found))
