"""Liveness and readiness probes, the admin health page, and the JSON 503
(with Retry-After) while a part `countersign up` supervises is down."""

from __future__ import annotations

import asyncio
import sys
import uuid
from contextlib import AsyncExitStack

import httpx
import pytest
import pytest_asyncio

from api.app import create_app
from api.supervisor import Health, Supervisor
from tests import factories
from workflows.worker import build_worker


@pytest_asyncio.fixture
async def on_dev_server(dev_temporal, engine, settings):
    """`on_dev_server(worker: bool)`: an HTTP client on the app against the Temporal CLI's dev server
    (the time-skipping test server does not answer DescribeTaskQueue), with a worker polling or not."""
    async with AsyncExitStack() as stack:
        async def make(worker: bool) -> httpx.AsyncClient:
            queue = f"ready-{uuid.uuid4().hex[:8]}"
            if worker:
                await stack.enter_async_context(build_worker(dev_temporal.client, engine, queue, factories.policy()))
            app = create_app(settings.model_copy(update={"task_queue": queue}), temporal=dev_temporal.client,
                             engine=engine)
            await stack.enter_async_context(app.router.lifespan_context(app))
            return await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver"))

        yield make


async def test_healthz_and_readyz(on_dev_server):
    without = await on_dev_server(worker=False)
    assert (await without.get("/healthz")).json() == {"status": "ok"}
    unready = await without.get("/readyz")
    assert unready.status_code == 503 and unready.headers["Retry-After"]
    assert "no worker has polled" in unready.json()["checks"]["worker"]["detail"]
    assert unready.json()["checks"]["database"]["ok"] and unready.json()["checks"]["temporal"]["ok"]

    with_worker = await on_dev_server(worker=True)
    for _ in range(50):  # the worker's first poll reaches the server
        ready = await with_worker.get("/readyz")
        if ready.status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert ready.status_code == 200, ready.text
    assert all(check["ok"] for check in ready.json()["checks"].values())


async def test_while_a_supervised_part_is_down_the_api_answers_json_503_with_retry_after(api, app, browser, users):
    proposal = (await api("lead").post("/api/v1/proposals", json=factories.submission())).json()
    health = Health()
    health.part("worker").state = "restarting"
    health.part("worker").last_error = "the worker process exited with code -9"
    app.state.health = health
    try:
        ready = await api("lead").get("/readyz")
        assert ready.status_code == 503 and ready.headers["Retry-After"]
        assert ready.json()["checks"]["worker"] == {"ok": False, "detail": "restarting: the worker process exited with code -9"}
        decided = await api("sony").post(f"/api/v1/proposals/{proposal['id']}/decisions", json={"decision": "approve"})
        assert decided.status_code == 503 and decided.headers["Retry-After"]
        assert "worker is restarting" in decided.json()["detail"]
        assert (await api("lead").get(f"/api/v1/proposals/{proposal['id']}")).status_code == 200  # reads go on
        timeline = await (await browser("compliance")).get(f"/compliance/proposals/{proposal['id']}")
        assert timeline.status_code == 200  # with its history from Temporal
        admin = await browser("admin")
        page = await admin.get("/admin/health")
        assert page.status_code == 200 and "restarting" in page.text and "code -9" in page.text
    finally:
        health.part("worker").state = "running"
    decided = await api("sony").post(f"/api/v1/proposals/{proposal['id']}/decisions", json={"decision": "approve"})
    assert decided.status_code == 201, decided.text


class SleepingProcess:
    """A real child process as a supervised part."""

    def __init__(self, process):
        self.process = process

    @classmethod
    async def start(cls):
        return cls(await asyncio.create_subprocess_exec(sys.executable, "-c", "import time; time.sleep(60)"))

    async def run(self):
        code = await self.process.wait()
        raise RuntimeError(f"exited with code {code}")

    async def shutdown(self):
        if self.process.returncode is None:
            self.process.terminate()
        await self.process.wait()


async def test_a_part_that_dies_is_started_again_with_growing_back_off():
    health = Health()
    supervisor = await Supervisor("sleeper", SleepingProcess.start, health, first_delay=0.05).start()
    running = asyncio.create_task(supervisor.run())
    try:
        pids = []
        for _ in range(3):
            first = supervisor.part
            pids.append(first.process.pid)
            first.process.kill()
            while supervisor.part is None or supervisor.part is first:
                await asyncio.sleep(0.01)
        part = health.parts["sleeper"]
        assert part.restarts == 3 and part.running and len(set(pids)) == 3
        assert part.last_error == "exited with code -9" and len(part.history) == 3
    finally:
        await supervisor.shutdown()
        await asyncio.wait_for(running, 5)
    assert health.parts["sleeper"].state == "stopped"
    assert supervisor.part.process.returncode is not None


@pytest.mark.parametrize("who, status", [("admin", 200), ("lead", 403), ("sony", 403), ("compliance", 403)])
async def test_only_admins_see_the_health_page(browser, who, status):
    assert (await (await browser(who)).get("/admin/health")).status_code == status
