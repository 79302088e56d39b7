"""Webhook tests: real HTTP receivers (aiohttp servers on free ports, started
by the test), a worker whose deliveries retry in fractions of a second and
that a test can stop and replace, and endpoint ids apart per test (so the
delivery workflows' ids, `webhook-<id>`, never meet on the shared server)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import pytest_asyncio
from aiohttp import web
from sqlmodel import Session, col, select
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError

from countersign.storage.db import transaction
from countersign.storage.tables import ProposalNumber, utcnow
from countersign.storage.webhook_tables import WebhookEndpoint
from tests import factories
from tests.ports import free_port
from workflows.webhook_delivery import DeliveryPolicy, workflow_id
from workflows.worker import build_worker

# Seconds, not a day: 4 attempts 0.1, 0.2, 0.4 s apart; 1 s per attempt.
FAST = DeliveryPolicy(attempts=4, first_retry_seconds=0.1, max_retry_seconds=0.4, backoff=2.0, timeout_seconds=1.0)


@dataclass
class Request:
    body: bytes
    headers: dict[str, str]
    status: int  # what the receiver answered

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


Answer = Callable[[int], Awaitable[int]]  # the nth request (from 1) -> the status to answer


@dataclass
class Receiver:
    """A real HTTP endpoint: records every request and answers as `answer` says."""

    answer: Answer
    requests: list[Request] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.arrived.set()
        n = len(self.requests) + 1
        record = Request(body, dict(request.headers), 0)
        self.requests.append(record)
        record.status = await self.answer(n)
        return web.Response(status=record.status, text=f"answer {record.status} to request {n}")

    def delivered(self) -> list[dict]:
        """The payloads answered 2xx, in the order they arrived."""
        return [r.payload for r in self.requests if 200 <= r.status < 300]


async def ok(_: int) -> int:
    return 200


@pytest_asyncio.fixture
async def receivers():
    """`await receivers(answer=ok)`: a started Receiver; all stop at the test's end."""
    runners = []

    async def start(answer: Answer = ok) -> Receiver:
        receiver = Receiver(answer)
        app = web.Application()
        app.router.add_post("/hook", receiver._handle)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        receiver.port = free_port()
        await web.TCPSite(runner, "127.0.0.1", receiver.port).start()
        runners.append(runner)
        return receiver

    yield start
    for runner in runners:
        await runner.cleanup()


class Workers:
    """The test's worker, which the test may stop and replace by a new one on the same queue."""

    def __init__(self, env, engine, task_queue):
        self._args = (env.client, engine, task_queue, factories.policy())
        self.running = None

    async def start(self) -> None:
        # No cache, so no sticky queue: the time-skipping server keeps a stopped worker's
        # workflow tasks on its sticky queue, where no new worker would find them.
        self.running = build_worker(*self._args, webhook_policy=FAST, graceful_shutdown_timeout=timedelta(0),
                                    max_cached_workflows=0)
        await self.running.__aenter__()

    async def stop(self) -> None:
        if self.running is not None:
            running, self.running = self.running, None
            await running.__aexit__(None, None, None)


@pytest_asyncio.fixture
async def workers(temporal_env, engine, task_queue):
    workers = Workers(temporal_env, engine, task_queue)
    await workers.start()
    yield workers
    await workers.stop()


@pytest_asyncio.fixture
async def worker(workers):
    """The conftest's app runs on this: the replaceable worker, with seconds-scale retries."""
    return workers


@pytest.fixture
def temporal_env(dev_temporal):
    """Deliveries wait on real HTTP receivers in real time, so these tests run on the session's
    dev server: the time-skipping server's clock stays still for an activity that a terminated
    workflow abandoned, which would hold up every later test sharing it."""
    return dev_temporal


@pytest_asyncio.fixture(autouse=True)
async def _endpoints_apart(engine, temporal_env, workers):
    """Endpoint ids from this test's block (as proposal ids are); at the end, the test's
    delivery workflows end too, while the worker still runs them (after it, each would
    be waited for in vain)."""
    with transaction(engine) as session:
        first = max(session.exec(select(ProposalNumber.id)).all() or [1])
        session.add(WebhookEndpoint(id=first, url="http://placeholder.invalid/", events=[], secret="whsec_",
                                    created_by="tests", created_at=utcnow(), deleted_at=utcnow()))
    yield
    with Session(engine) as session:
        ids = session.exec(select(WebhookEndpoint.id).where(col(WebhookEndpoint.deleted_at).is_(None))).all()
    for endpoint_id in ids:
        handle = temporal_env.client.get_workflow_handle(workflow_id(endpoint_id))
        try:
            # Let a delivery in flight finish first, rather than leave its activity abandoned.
            await asyncio.wait_for(handle.result(), 5)
        except (TimeoutError, WorkflowFailureError, RPCError):
            with contextlib.suppress(RPCError):  # ended already
                await handle.terminate("test finished")


async def eventually(check: Callable[[], object], timeout: float = 15.0, what: str = "the condition"):
    """Poll `check` until it returns something truthy; its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
def users(users, engine):
    """The conftest's users, with a party admin of sony and one of warner."""
    return users | {f"{party}_admin": factories.user(engine, "party_admin", party, email=f"admin.{party}@example.com")
                    for party in ("sony", "warner")}
