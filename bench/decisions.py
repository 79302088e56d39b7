"""Decisions per second and decision latency: Countersign against the raw engine.

    .venv/bin/python -m bench.decisions [--proposals 200] [--concurrency 10] [--sequential 10]
                                        [--database sqlite|postgresql] [--rounds N]

Starts the whole service with `countersign up` on a temporary data dir and
free ports (policy: tests/policies/one_stage.toml, one stage in which all
five labels decide), creates a lead and one rep per label with the CLI, and
then, in the same run and against the same Temporal dev server, measures

(a) the raw engine: bench/raw_workflow.py, a minimal five-party workflow
    taking five Updates, driven straight through the Temporal client with an
    in-process worker (SDK defaults) on a task queue of its own;
(b) Countersign: proposals submitted through the JSON API, then approved by
    all five labels through the JSON API.

With `--rounds N` (5 unless given) both sides are measured N times, in turn,
and the round with the median ratio is reported, with every round's ratio:
on a small machine other work can slow one side's phase and not the other's.

Each side first opens all its proposals (workflows), then decides them with
`--concurrency` proposals in flight, each decided by its five labels one
after another. Decisions per second = decisions / wall time of the deciding
phase; a decision's round trip is one `execute_update` call (a) or one
`POST /api/v1/proposals/{id}/decisions` (b). Then each side again with one
client deciding one decision at a time (`--sequential` proposals, 5
decisions each): the round trip a person deciding by hand waits for.

Prints the figures, the ratios and PASS or FAIL for each target of issue 19:
Countersign's decisions/s at least 0.3 x raw, p99 at most 3 x raw p99, and
the single client's median round trip at most the raw median + 50 ms; then
one JSON line.

`--database postgresql` creates a fresh database on the local PostgreSQL
(COUNTERSIGN_BENCH_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/test)
and hands it to the service as COUNTERSIGN_DATABASE_URL; the CPU meter then
counts the PostgreSQL server's processes too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import Worker

from api.cli import CLIENT_KEEP_ALIVE
from bench.common import (
    BIN,
    ONE_STAGE_POLICY,
    ROOT,
    CpuMeter,
    TemporalRequests,
    children,
    free_port,
    fresh_postgres,
    percentile,
    postgres_cpu_seconds,
)
from bench.raw_workflow import PARTIES, RawDecision, RawFivePartyApproval, RawInput
from countersign.storage.queries import workflow_id as proposal_workflow_id
from tests import factories

# Issue 19's targets: a guard against Countersign getting slow, not a goal.
MIN_THROUGHPUT_RATIO = 0.3  # Countersign's decisions/s over the raw engine's
MAX_P99_RATIO = 3.0  # Countersign's p99 round trip over the raw engine's
MAX_SINGLE_CLIENT_EXTRA = 0.050  # seconds: one client's median round trip over the raw engine's

LEAD = "bench.lead@example.com"
PASSWORD = "quiet orchid pebble 42"  # not secret; passes the password checks
SUBMISSION = factories.submission(parties=list(PARTIES))  # the same proposal the tests submit


@dataclass
class Figures:
    decisions: int = 0
    seconds: float = 0.0
    opened_per_second: float = 0.0
    latencies: list[float] = field(default_factory=list)
    workflow_ids: list[str] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=dict)  # from histories: see `timeline`
    cpu: dict[str, float] = field(default_factory=dict)  # share of one core per process, deciding phase
    requests: dict[str, float] = field(default_factory=dict)  # Temporal's database requests per decision, by kind

    @property
    def per_second(self) -> float:
        return self.decisions / self.seconds if self.seconds else 0.0

    def cpu_per_decision(self) -> dict[str, float]:
        """CPU seconds per decision, per process, over the deciding phase."""
        return {name: share * self.seconds / self.decisions for name, share in self.cpu.items()} if self.decisions else {}

    def summary(self) -> dict:
        return {
            "decisions": self.decisions,
            "seconds": round(self.seconds, 3),
            "decisions_per_second": round(self.per_second, 1),
            "p50_ms": round(percentile(self.latencies, 0.50) * 1000, 1),
            "p99_ms": round(percentile(self.latencies, 0.99) * 1000, 1),
            "opened_per_second": round(self.opened_per_second, 1),
        }


async def in_parallel(items: list, concurrency: int, work) -> None:
    """Run `work(item)` for every item, `concurrency` at a time."""
    queue: asyncio.Queue = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)

    async def runner() -> None:
        while not queue.empty():
            await work(queue.get_nowait())

    await asyncio.gather(*(runner() for _ in range(concurrency)))


async def open_then_decide(figures: Figures, open_one, decide_all, proposals: int, concurrency: int, warmup: int,
                           meter: CpuMeter, requests: TemporalRequests | None = None) -> list:
    """The phases each side runs: `warmup` proposals opened and decided, not
    measured (`open_one` gets negative indexes); then `proposals` opened,
    `concurrency` at a time; then all of them decided, `concurrency` at a
    time, with CPU and Temporal's database requests metered. The ids opened, in order."""
    for index in range(warmup):
        await decide_all(await open_one(-1 - index), measured=False)
    ids: list = []

    async def opened(index: int) -> None:
        ids.append(await open_one(index))

    started = time.perf_counter()
    await in_parallel(list(range(proposals)), concurrency, opened)
    figures.opened_per_second = proposals / (time.perf_counter() - started)
    before = requests.read() if requests else None
    meter.start()
    started = time.perf_counter()
    await in_parallel(ids, concurrency, decide_all)
    figures.seconds = time.perf_counter() - started
    figures.cpu = meter.stop()
    if requests:
        after = requests.read()
        figures.requests = {kind: (after[kind] - before[kind]) / figures.decisions
                            for kind in after if after[kind] > before[kind]}
    return ids


# -- the service -----------------------------------------------------------


class Service:
    """`countersign up` in a process group of its own, and its CLI."""

    def __init__(self, data_dir: Path, database_url: str | None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.temporal_port = free_port(below=64536, also_free=(1000,))  # its Web UI: port + 1000
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.temporal_address = f"127.0.0.1:{self.temporal_port}"
        # The embedded dev server, always: no Temporal server or profile of the machine's.
        no_profile = data_dir / "no-temporal-profile.toml"
        no_profile.write_text("")
        self.env = {name: value for name, value in os.environ.items() if not name.startswith("TEMPORAL_")} | {
            "TEMPORAL_CONFIG_FILE": str(no_profile),
            "COUNTERSIGN_DATA_DIR": str(data_dir),
            "COUNTERSIGN_POLICY": str(ONE_STAGE_POLICY),
            "COUNTERSIGN_ENVIRONMENT": "development",
        }
        if database_url:
            self.env["COUNTERSIGN_DATABASE_URL"] = database_url
        self.log = data_dir / "countersign-up.log"
        self.process: subprocess.Popen | None = None

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run([str(BIN / "countersign"), *args], input=stdin, env=self.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"countersign {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    async def start(self, timeout: float = 120) -> None:
        self.process = subprocess.Popen(
            [str(BIN / "countersign"), "up", "--data-dir", str(self.data_dir), "--host", "127.0.0.1",
             "--port", str(self.port), "--temporal-port", str(self.temporal_port)],
            env=self.env, cwd=ROOT, stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"countersign up exited with {self.process.returncode}:\n{self.log.read_text()}")
                try:
                    if (await http.get(f"{self.base_url}/api/v1/proposals")).status_code == 401:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.25)
        raise RuntimeError(f"countersign up did not answer in {timeout:.0f}s:\n{self.log.read_text()}")

    def processes(self) -> dict[str, int]:
        found = {"countersign up (web)": self.process.pid}
        for pid in children(self.process.pid):
            cmdline = Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
            if "temporal" in cmdline:
                found["Temporal dev server"] = pid
            elif "worker" in cmdline:
                found["worker process"] = pid
        return found

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the group we started, and only it
            self.process.wait()

    def add_user(self, email: str, role: str, party: str | None = None) -> str:
        """Adds the account and returns a new API token for it."""
        args = ["users", "add", "--email", email, "--role", role, "--password-stdin"]
        if party:
            args += ["--party", party]
        self.cli(*args, stdin=PASSWORD + "\n")
        scope = ("--scope", "decide") if role == "rep" else ()  # a rep's API decisions need it (docs/signatures.md)
        return self.cli("tokens", "create", "--email", email, *scope).strip().splitlines()[-1].strip()


# -- (a) the raw engine ----------------------------------------------------


def sampled(ids: list, sample: int) -> list:
    """About `sample` of the ids, spread over them (none for 0)."""
    return ids[:: max(1, len(ids) // sample)] if sample else []


async def raw_engine(address: str, proposals: int, concurrency: int, warmup: int, sample: int,
                     meter: CpuMeter, requests: TemporalRequests | None = None) -> Figures:
    workflow = RawFivePartyApproval
    client = await Client.connect(address)
    task_queue = f"bench-raw-{uuid.uuid4().hex[:8]}"
    figures = Figures()

    async def open_run(index: int) -> str:
        workflow_id = f"bench-raw-{task_queue}-{index}"
        await client.start_workflow(workflow.run, RawInput(), id=workflow_id, task_queue=task_queue)
        return workflow_id

    async def decide_all(workflow_id: str, measured: bool = True) -> None:
        handle = client.get_workflow_handle(workflow_id)
        for party in PARTIES:
            started = time.perf_counter()
            await handle.execute_update(workflow.decide, RawDecision(party), id=f"{workflow_id}-{party}")
            if measured:
                figures.latencies.append(time.perf_counter() - started)
        if measured:
            figures.decisions += len(PARTIES)

    async with Worker(client, task_queue=task_queue, workflows=[workflow]):
        ids = await open_then_decide(figures, open_run, decide_all, proposals, concurrency, warmup, meter, requests)
        for workflow_id in ids[:5]:
            assert set(await client.get_workflow_handle(workflow_id).result()) == set(PARTIES)
    figures.workflow_ids = sampled(ids, sample)
    figures.steps = await timeline(client, figures.workflow_ids, opened_by_update=False)
    return figures


# -- (b) Countersign through its JSON API ----------------------------------


async def countersign(service: Service, tokens: dict[str, str], proposals: int, concurrency: int, warmup: int,
                      sample: int, meter: CpuMeter, requests: TemporalRequests | None = None) -> Figures:
    figures = Figures()
    # aiohttp, not httpx: the client shares the machine's two cores with the
    # service; httpx took 3.4 ms of CPU per decision here, aiohttp 0.9.
    async with AsyncExitStack() as stack:
        connector = aiohttp.TCPConnector(limit=concurrency * 2, keepalive_timeout=CLIENT_KEEP_ALIVE)
        clients = {
            who: await stack.enter_async_context(aiohttp.ClientSession(
                base_url=f"{service.base_url}/api/v1/", headers={"Authorization": f"Bearer {token}"},
                timeout=aiohttp.ClientTimeout(total=120), connector=connector, connector_owner=False))
            for who, token in tokens.items()
        }
        stack.push_async_callback(connector.close)

        async def post(who: str, path: str, body: dict, expected: int) -> dict:
            async with clients[who].post(path, json=body) as response:
                if response.status != expected:
                    raise RuntimeError(f"POST {path} answered {response.status}: {await response.text()}")
                return await response.json()

        async def submit() -> int:
            return (await post("lead", "proposals", SUBMISSION, 201))["id"]

        async def decide_all(proposal_id: int, measured: bool = True) -> None:
            for party in PARTIES:
                body = {"decision": "approve", "decision_id": f"bench-{proposal_id}-{party}", "version": 1}
                started = time.perf_counter()
                answer = await post(party, f"proposals/{proposal_id}/decisions", body, 201)
                if measured:
                    figures.latencies.append(time.perf_counter() - started)
            if measured:
                figures.decisions += len(PARTIES)
            if answer["status"] != "approved":
                raise RuntimeError(f"proposal {proposal_id} ended {answer['status']}, not approved")

        async def submit_one(_index: int) -> int:
            return await submit()

        ids = await open_then_decide(figures, submit_one, decide_all, proposals, concurrency, warmup, meter,
                                     requests)
    client = await Client.connect(service.temporal_address)
    figures.workflow_ids = [proposal_workflow_id(pid) for pid in sampled(ids, sample)]
    figures.steps = await timeline(client, figures.workflow_ids, opened_by_update=True)
    return figures


# -- where a decision's time goes, from the server's event times ----------

STEP_NAMES = {
    ("WORKFLOW_EXECUTION_UPDATE_COMPLETED", "WORKFLOW_TASK_SCHEDULED"):
        "outside Temporal: client, HTTP and web app between one decision and the next",
    ("WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED"): "workflow task waits for the worker to take it",
    ("WORKFLOW_TASK_STARTED", "WORKFLOW_TASK_COMPLETED"): "worker runs the workflow task (and reports back)",
    ("ACTIVITY_TASK_STARTED", "ACTIVITY_TASK_COMPLETED"): "activity: dispatched, record_step run, reported",
    ("ACTIVITY_TASK_SCHEDULED", "ACTIVITY_TASK_STARTED"): "activity waits for the worker to take it",
}


async def timeline(client: Client, workflow_ids: list[str], opened_by_update: bool) -> dict[str, list[float]]:
    """Seconds between consecutive history events, per kind of step, over the
    deciding phase: from the first decision's workflow task to the last update.
    `opened_by_update`: the run's first update (Countersign's `stored`) is
    part of opening it, not a decision."""
    steps: dict[str, list[float]] = {}
    for workflow_id in workflow_ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        events = [(EventType.Name(e.event_type).removeprefix("EVENT_TYPE_"), e.event_time.ToDatetime())
                  for e in history.events]
        kinds = [kind for kind, _ in events]
        opened = kinds.index("WORKFLOW_EXECUTION_UPDATE_COMPLETED" if opened_by_update else "WORKFLOW_TASK_COMPLETED")
        first = kinds.index("WORKFLOW_TASK_SCHEDULED", opened)
        last = len(kinds) - 1 - kinds[::-1].index("WORKFLOW_EXECUTION_UPDATE_COMPLETED")
        for (before, at_before), (kind, at) in zip(events[first:last], events[first + 1:last + 1]):
            name = STEP_NAMES.get((before, kind), f"{before} -> {kind}")
            steps.setdefault(name, []).append((at - at_before).total_seconds())
    return steps


def print_timeline(title: str, figures: Figures) -> None:
    decisions = len(figures.workflow_ids) * len(PARTIES)
    if not decisions:
        return
    total = sum(sum(values) for values in figures.steps.values())
    print(f"\n{title}: where a decision's time goes, from the event times of {len(figures.workflow_ids)} "
          "histories (ms per decision)")
    print("  CPU while deciding, share of one core: "
          + "; ".join(f"{name} {100 * share:.0f}%" for name, share in figures.cpu.items()))
    # CPU time per decision shifts less than rates do when other work shares the machine.
    print("  CPU per decision, ms: "
          + "; ".join(f"{name} {1000 * ms:.1f}" for name, ms in figures.cpu_per_decision().items()))
    if figures.requests:
        kinds = sorted(figures.requests.items(), key=lambda item: -item[1])
        print(f"  Temporal database requests per decision: {sum(figures.requests.values()):.1f} ("
              + ", ".join(f"{kind} {count:.1f}" for kind, count in kinds if count >= 0.5) + ")")
    rows = sorted(figures.steps.items(), key=lambda item: -sum(item[1]))
    for name, values in rows:
        per_decision = 1000 * sum(values) / decisions
        if per_decision >= 0.5:
            print(f"  {per_decision:8.1f}  {100 * sum(values) / total:5.1f}%  {name}")


# -- report ----------------------------------------------------------------


def verdict(met: bool) -> str:
    return "PASS" if met else "FAIL"


def report(args: argparse.Namespace, raw: Figures, ours: Figures, raw_one: Figures, ours_one: Figures) -> dict:
    raw_s, ours_s = raw.summary(), ours.summary()
    throughput_ratio = ours.per_second / raw.per_second
    p99_ratio = ours_s["p99_ms"] / raw_s["p99_ms"]
    p50_ratio = ours_s["p50_ms"] / raw_s["p50_ms"]
    raw_one_p50, ours_one_p50 = percentile(raw_one.latencies, 0.5), percentile(ours_one.latencies, 0.5)
    extra = ours_one_p50 - raw_one_p50
    print()
    print(f"{args.proposals} proposals x 5 decisions, {args.concurrency} proposals in flight, "
          f"database {args.database}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"{'':14}{'decisions/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'opened/s':>10}")
    for name, s in (("raw engine", raw_s), ("Countersign", ours_s)):
        print(f"{name:14}{s['decisions_per_second']:>12.1f}{s['p50_ms']:>9.1f}{s['p99_ms']:>9.1f}"
              f"{s['opened_per_second']:>10.1f}")
    print(f"{'ratio':14}{throughput_ratio:>12.2f}{p50_ratio:>9.2f}{p99_ratio:>9.2f}")
    print(f"\none client, one decision at a time ({len(ours_one.latencies)} decisions each): median round trip "
          f"raw engine {raw_one_p50 * 1000:.1f} ms, Countersign {ours_one_p50 * 1000:.1f} ms "
          f"({extra * 1000:+.1f} ms)")
    met = {
        "throughput": throughput_ratio >= MIN_THROUGHPUT_RATIO,
        "p99": p99_ratio <= MAX_P99_RATIO,
        "single_client_median": extra <= MAX_SINGLE_CLIENT_EXTRA,
    }
    print()
    print(f"{verdict(met['throughput'])}  decisions/s >= {MIN_THROUGHPUT_RATIO} x raw ({throughput_ratio:.2f})")
    print(f"{verdict(met['p99'])}  p99 <= {MAX_P99_RATIO:g} x raw p99 ({p99_ratio:.2f})")
    print(f"{verdict(met['single_client_median'])}  single-client median <= raw median + "
          f"{MAX_SINGLE_CLIENT_EXTRA * 1000:.0f} ms ({extra * 1000:+.1f} ms)")
    return {
        "benchmark": "decisions", "database": args.database, "proposals": args.proposals,
        "concurrency": args.concurrency, "cpus": os.cpu_count(), "raw": raw_s, "countersign": ours_s,
        "ratio_decisions_per_second": round(throughput_ratio, 3), "ratio_p50": round(p50_ratio, 3),
        "ratio_p99": round(p99_ratio, 3),
        "single_client": {"decisions": len(ours_one.latencies), "raw_p50_ms": round(raw_one_p50 * 1000, 1),
                          "countersign_p50_ms": round(ours_one_p50 * 1000, 1),
                          "extra_ms": round(extra * 1000, 1)},
        "targets_met": met,
        "cpu_share": {"raw": {k: round(v, 2) for k, v in raw.cpu.items()},
                      "countersign": {k: round(v, 2) for k, v in ours.cpu.items()}},
        "cpu_ms_per_decision": {"raw": {k: round(v * 1000, 1) for k, v in raw.cpu_per_decision().items()},
                                "countersign": {k: round(v * 1000, 1) for k, v in ours.cpu_per_decision().items()}},
        "load_average": os.getloadavg()[0],
    }


@dataclass
class Round:
    raw: Figures  # (a) and (b): `--concurrency` proposals in flight
    ours: Figures
    raw_one: Figures  # (c) and (d): one client, one decision at a time
    ours_one: Figures

    @property
    def ratio(self) -> float:
        return self.ours.per_second / self.raw.per_second


async def run(args: argparse.Namespace, data_dir: Path, database_url: str | None) -> dict:
    service = Service(data_dir, database_url)
    print(f"starting countersign up on {service.base_url} (Temporal at {service.temporal_address}) ...")
    await service.start()
    try:
        tokens = {"lead": service.add_user(LEAD, "lead")}
        for party in PARTIES:
            tokens[party] = service.add_user(f"bench.rep.{party}@example.com", "rep", party)
        here = {"bench process (raw worker + client)": os.getpid()}
        # The app's database server shares the cores too (the raw engine uses none).
        database_server = {"PostgreSQL server": postgres_cpu_seconds} if database_url else {}
        dev_server = {k: v for k, v in service.processes().items() if k == "Temporal dev server"}
        requests = TemporalRequests.from_log(service.log.read_text(errors="replace"))
        rounds: list[Round] = []
        for index in range(args.rounds):
            label = f" (round {index + 1} of {args.rounds})" if args.rounds > 1 else ""
            print(f"(a) raw engine{label} ...")
            raw = await raw_engine(service.temporal_address, args.proposals, args.concurrency, args.warmup,
                                   args.sample, CpuMeter(here | dev_server | database_server), requests)
            print(f"(b) Countersign{label} ...")
            meter = CpuMeter(service.processes() | database_server | {"bench process (HTTP client)": os.getpid()})
            ours = await countersign(service, tokens, args.proposals, args.concurrency, args.warmup, args.sample,
                                     meter, requests)
            print(f"(c) raw engine, one client{label} ...")
            raw_one = await raw_engine(service.temporal_address, args.sequential, 1, 0, 0, CpuMeter({}))
            print(f"(d) Countersign, one client{label} ...")
            ours_one = await countersign(service, tokens, args.sequential, 1, 0, 0, CpuMeter({}))
            rounds.append(Round(raw, ours, raw_one, ours_one))
    finally:
        service.stop()
    # The round with the median ratio stands for the run; all rounds' ratios are printed.
    chosen = sorted(rounds, key=lambda r: r.ratio)[len(rounds) // 2]
    print_timeline("raw engine", chosen.raw)
    print_timeline("Countersign", chosen.ours)
    if len(rounds) > 1:
        print("\nrounds (raw, then Countersign, in turn): decisions/s Countersign / raw = ratio")
        for index, r in enumerate(rounds, start=1):
            print(f"  {index}: {r.ours.per_second:.1f} / {r.raw.per_second:.1f} = {r.ratio:.2f}")
    result = report(args, chosen.raw, chosen.ours, chosen.raw_one, chosen.ours_one)
    result["round_ratios"] = [round(r.ratio, 3) for r in rounds]
    result["temporal_requests_per_decision"] = {side: round(sum(figures.requests.values()), 1)
                                                for side, figures in (("raw", chosen.raw), ("countersign", chosen.ours))}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--proposals", type=int, default=200, help="proposals per side (each gets 5 decisions)")
    parser.add_argument("--concurrency", type=int, default=10, help="proposals in flight at once")
    parser.add_argument("--sequential", type=int, default=10,
                        help="proposals per side decided by one client, one decision at a time")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=5,
                        help="measure both sides this many times, in turn, and report the round with the median "
                             "ratio (the machine's noise shows in the spread; one round alone says little)")
    parser.add_argument("--warmup", type=int, default=5, help="proposals decided before measuring, per side")
    parser.add_argument("--sample", type=int, default=20, help="histories per side read for the time breakdown")
    parser.add_argument("--keep", action="store_true", help="keep the data dir (its log) afterwards")
    args = parser.parse_args()
    with ExitStack() as stack:
        data_dir = Path(tempfile.mkdtemp(prefix="countersign-bench-"))
        if not args.keep:
            stack.callback(shutil.rmtree, data_dir, ignore_errors=True)
        else:
            print(f"data dir: {data_dir}")
        database_url = stack.enter_context(fresh_postgres("countersign_bench")) if args.database == "postgresql" else None
        result = asyncio.run(run(args, data_dir, database_url))
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
