"""Issue 7's fault tests: a burst of decisions through the JSON API while a
part of the service fails under it, each part a real process:

- the worker killed (SIGKILL) and started again;
- the Temporal dev server killed (SIGKILL) and started again on its SQLite file;
- the app database cut for 3 s (PostgreSQL: connections refused and every
  connection of the app's terminated, again and again);
- the app database locked for 3 s (SQLite: another process holds the write lock);
- the web process restarted with requests in flight (SIGTERM, as a deploy
  does, and SIGKILL).

After each: every decision that got a 2xx is recorded exactly once in the
database, in the audit trail and in the Temporal history, and nothing else
is; no proposal is stuck; timers still fire; `countersign audit verify` and
`countersign audit reconcile` pass.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Awaitable, Callable

import pytest

from countersign.storage.db import make_engine
from tests.faults.burst import Burst, Planned, submit
from tests.faults.checks import Report
from tests.faults.cluster import PARTIES, Cluster, cut_postgres, hold_sqlite_lock
from tests.postgres import fresh_database

pytestmark = pytest.mark.e2e

PROPOSALS = 10  # decided by all five labels, plus one the silent label leaves open
SILENT_PARTY = "believe"
FAULT_AFTER = 1 / 3  # of the decisions answered 2xx
OUTAGE = 3.0  # seconds a killed process stays down, or the database stays cut


@pytest.fixture
def cluster(tmp_path, sqlite_template):
    running = Cluster(tmp_path, template=sqlite_template)
    yield running
    running.stop_all()
    print(running.all_logs())  # shown when the test failed


@pytest.fixture
def postgres_cluster(tmp_path):
    with fresh_database("countersign_faults") as (url, name):
        running = Cluster(tmp_path, database_url=url, postgres_database=name)
        yield running
        running.stop_all()
        print(running.all_logs())


async def decide_through(cluster: Cluster, inject: Callable[[], Awaitable[str]]) -> None:
    """Start the cluster, submit, start the burst, inject the fault once a
    third of the decisions are in, then check everything."""
    began = time.monotonic()
    tokens = await cluster.start_all()
    temporal = await cluster.temporal_client()
    started = time.monotonic()
    [silent] = await submit(cluster.url, tokens["lead"], 1, "Silent")
    proposals = await submit(cluster.url, tokens["lead"], PROPOSALS, "Burst")
    run = uuid.uuid4().hex[:6]
    plan = [Planned(pid, party, f"fault-{run}-{pid}-{party}") for pid in [silent, *proposals]
            for party in PARTIES if (pid, party) != (silent, SILENT_PARTY)]
    burst = Burst(cluster.url, {party: tokens[party] for party in PARTIES}, plan)
    burst_task = asyncio.create_task(burst.run())
    try:
        while burst.succeeded() < len(plan) * FAULT_AFTER:
            assert not burst_task.done(), "the burst ended before the fault could be injected"
            await asyncio.sleep(0.01)
        in_flight, answered = burst.in_flight, burst.succeeded()
        fault_at = time.monotonic()
        what = await inject()
        recovered = time.monotonic() - fault_at
        await burst_task
    finally:
        burst_task.cancel()
    burst_seconds = time.monotonic() - burst.started_at
    cluster.check_running("temporal", "worker", "web")
    checks_began = time.monotonic()
    engine = make_engine(cluster.database_url)
    try:
        report = Report(cluster, engine, temporal, burst, [silent, *proposals], silent, SILENT_PARTY)
        await report.check_all()
    finally:
        engine.dispose()
    print(f"\nFAULT FIGURES: {what}; {len(plan)} decisions, {answered} answered and {in_flight} in flight when "
          f"the fault hit; fault + restart {recovered:.1f}s; burst {burst_seconds:.1f}s; "
          f"retries {dict(burst.retries)}; test {time.monotonic() - began:.1f}s (start-up {started - began:.1f}s, "
          f"checks {time.monotonic() - checks_began:.1f}s: {report.timings})")


async def test_worker_killed_mid_burst(cluster):
    """With 8 decisions in flight the kill lands on workflow tasks and
    `record_step` activities the worker had started. Temporal hands them to
    the restarted worker after their timeouts (10 s each); a step whose
    activity had committed before the kill is found stored and skipped
    (workflows/activities.py). Expect a ~20-30 s burst."""
    async def kill_worker() -> str:
        await asyncio.to_thread(cluster.kill, "worker", signal.SIGKILL)
        await asyncio.sleep(OUTAGE)
        cluster.start("worker")
        return "worker SIGKILLed, restarted after 3 s"

    await decide_through(cluster, kill_worker)


async def test_temporal_killed_mid_burst(cluster):
    async def kill_temporal() -> str:
        await asyncio.to_thread(cluster.kill, "temporal", signal.SIGKILL)
        await asyncio.sleep(OUTAGE)
        cluster.start("temporal")
        await cluster.temporal_client()
        cluster.check_running("worker", "web")
        return "Temporal dev server SIGKILLed, restarted on its SQLite file after 3 s"

    await decide_through(cluster, kill_temporal)


@pytest.mark.postgres
async def test_postgres_cut_mid_burst(postgres_cluster):
    async def cut() -> str:
        terminated = await asyncio.to_thread(cut_postgres, postgres_cluster.postgres_database, OUTAGE)
        return f"PostgreSQL cut for 3 s ({terminated} connections terminated)"

    await decide_through(postgres_cluster, cut)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
async def test_web_restarted_mid_burst(cluster, sig):
    """SIGTERM lets the requests in flight finish (a deploy); SIGKILL drops
    them after the workflow may have taken their decision, so the client's
    retry with the same decision id must count once."""
    async def restart_web() -> str:
        await asyncio.to_thread(cluster.kill, "web", sig)
        cluster.start("web")
        await cluster.web_ready()
        return f"web {sig.name} with requests in flight, restarted"

    await decide_through(cluster, restart_web)


async def test_sqlite_locked_mid_burst(cluster):
    """SQLite's version of a database cut: another process holds the write
    lock for 3 s. Writers wait (busy timeout) or fail and retry."""
    async def lock() -> str:
        await asyncio.to_thread(hold_sqlite_lock, cluster.database_url.removeprefix("sqlite:///"), OUTAGE)
        return "app database (SQLite) locked exclusively for 3 s"

    await decide_through(cluster, lock)
