"""Where Countersign's cost over the raw engine sits: the same decisions with no web app.

    .venv/bin/python -m bench.workflow_only [--proposals 200] [--concurrency 10]

On one embedded Temporal dev server (as `countersign up` starts it), each
driven straight through the Temporal client by this process, with an
in-process worker on a task queue of its own:

(a) the raw engine (bench/raw_workflow.py);
(c) ProposalWorkflow as shipped (`build_worker`), recording each step with
    the `record_step` local activity into a SQLite database;
(e) with --unsandboxed, for comparison only: (c) without the workflow sandbox.

Compare with bench/decisions.py, whose (b) adds the web app, HTTP and the
JSON API on top of (c). Prints the same figures and one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from bench.common import ONE_STAGE_POLICY, CpuMeter, dev_server_pid, free_port, percentile
from bench.decisions import Figures, open_then_decide, print_timeline, raw_engine, timeline
from bench.raw_workflow import PARTIES
from countersign.domain import calendar
from countersign.domain.policy import Policy, load_policy
from countersign.storage.db import make_engine, migrate, transaction
from countersign.storage.queries import workflow_id
from countersign.storage.tables import ProposalNumber, utcnow
from tests import factories
from workflows import client as wf
from workflows import dev_server
from workflows.activities import ProposalActivities
from workflows.messages import DecisionRequest, ProposalInput
from workflows.proposal import ProposalWorkflow
from workflows.worker import DEFAULT_CALENDARS, MAX_CACHED_WORKFLOWS, build_worker

LEAD = "lead@example.com"


def unsandboxed_worker(client: Client, engine, task_queue: str, policy: Policy) -> Worker:
    """`build_worker` without the workflow sandbox, to see what the sandbox costs."""
    calendar.preload({party.holidays for party in policy.parties.values()} | DEFAULT_CALENDARS)
    activities = ProposalActivities(engine, policy.parties, "http://127.0.0.1:8000")
    return Worker(client, task_queue=task_queue, workflows=[ProposalWorkflow], activities=[activities.record_step],
                  activity_executor=ThreadPoolExecutor(max_workers=16), max_cached_workflows=MAX_CACHED_WORKFLOWS,
                  workflow_runner=UnsandboxedWorkflowRunner())


async def proposal_workflow(client: Client, engine, make_worker, proposals: int, concurrency: int, warmup: int,
                            sample: int, meter: CpuMeter) -> Figures:
    policy = load_policy(ONE_STAGE_POLICY)
    task_queue = f"bench-proposals-{uuid.uuid4().hex[:8]}"
    body = factories.submission()
    figures = Figures()

    def allocate() -> int:
        with transaction(engine) as session:
            number = ProposalNumber(allocated_at=utcnow())
            session.add(number)
            session.flush()
            return number.id

    async def open_one(_index=None) -> int:
        pid = allocate()
        await wf.start_proposal(client, task_queue, ProposalInput(pid, LEAD, body, policy))
        return pid

    async def decide_all(pid: int, measured: bool = True) -> None:
        for party in PARTIES:
            request = DecisionRequest(party, "approve", "", 1, f"rep.{party}@example.com")
            started = time.perf_counter()
            result = await wf.decide(client, pid, request, f"bench-{pid}-{party}")
            if measured:
                figures.latencies.append(time.perf_counter() - started)
        if measured:
            figures.decisions += len(PARTIES)
        if result.status != "approved":
            raise RuntimeError(f"proposal {pid} ended {result.status}")

    async with make_worker(client, engine, task_queue, policy):
        ids = await open_then_decide(figures, open_one, decide_all, proposals, concurrency, warmup, meter)
    figures.workflow_ids = [workflow_id(pid) for pid in ids[:: max(1, len(ids) // sample)]]
    figures.steps = await timeline(client, figures.workflow_ids, opened_by_update=True)
    return figures


def line(name: str, figures: Figures, raw: Figures) -> str:
    s = figures.summary()
    return (f"{name:34}{s['decisions_per_second']:>12.1f}{s['p50_ms']:>9.1f}{s['p99_ms']:>9.1f}"
            f"{figures.per_second / raw.per_second:>10.2f}{percentile(figures.latencies, 0.99) / percentile(raw.latencies, 0.99):>10.2f}")


async def run(args: argparse.Namespace, data_dir: Path) -> dict:
    port = free_port(below=64536, also_free=(dev_server.UI_PORT_OFFSET,))
    engine = make_engine(f"sqlite:///{data_dir / 'countersign.sqlite3'}")
    migrate(engine)
    factories.user(engine, "lead", email=LEAD)
    async with dev_server.running(data_dir, port) as server:
        client = await wf.connect(server.address, "default")  # with Countersign's data converter, as shipped
        server_pid = dev_server_pid()
        processes = {"bench process (worker + client)": os.getpid(), "Temporal dev server": server_pid}
        print("(a) raw engine ...")
        raw = await raw_engine(server.address, args.proposals, args.concurrency, args.warmup, args.sample,
                               CpuMeter(processes))
        print("(c) ProposalWorkflow as shipped ...")
        shipped = await proposal_workflow(client, engine, build_worker, args.proposals, args.concurrency,
                                          args.warmup, args.sample, CpuMeter(processes))
        unsandboxed = None
        if args.unsandboxed:
            print("(e) for comparison only: ProposalWorkflow without the sandbox ...")
            unsandboxed = await proposal_workflow(client, engine, unsandboxed_worker, args.proposals,
                                                  args.concurrency, args.warmup, args.sample, CpuMeter(processes))
    engine.dispose()
    print_timeline("(a) raw engine", raw)
    print_timeline("(c) ProposalWorkflow", shipped)
    if unsandboxed:
        print_timeline("(e) ProposalWorkflow, no sandbox", unsandboxed)
    print()
    print(f"{args.proposals} proposals x 5 decisions, {args.concurrency} in flight, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'':34}{'decisions/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'x raw/s':>10}{'x raw p99':>10}")
    print(line("(a) raw engine", raw, raw))
    print(line("(c) ProposalWorkflow", shipped, raw))
    if unsandboxed:
        print(line("(e) no sandbox", unsandboxed, raw))
    return {"benchmark": "workflow_only", "proposals": args.proposals, "concurrency": args.concurrency,
            "cpus": os.cpu_count(), "load_average": os.getloadavg()[0],
            "raw": raw.summary(), "proposal_workflow": shipped.summary(),
            "unsandboxed": unsandboxed.summary() if unsandboxed else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--proposals", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--sample", type=int, default=20)
    parser.add_argument("--unsandboxed", action="store_true",
                        help="also run ProposalWorkflow without the sandbox, to see what the sandbox costs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="countersign-bench-") as tmp:
        result = asyncio.run(run(args, Path(tmp)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
