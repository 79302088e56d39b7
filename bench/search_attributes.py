"""What making proposals searchable costs the engine itself, before any of Countersign runs.

    .venv/bin/python -m bench.search_attributes [--proposals 150] [--concurrency 10] [--rounds 5]

ProposalWorkflow upserts its four search attributes (status, stage, pending
parties, next due time) at every step, as the design asks: in-flight
proposals searchable with Temporal's own tools. Pending parties change at
every decision, so every decision upserts. On the embedded dev server each
upsert is a second write per decision: a visibility task, then the run's
visibility row rewritten (SQLite: 17 indexes, of Temporal's 58, and two
full-text tables; workflows/dev_visibility.py) on the server's one database
connection.

On one embedded Temporal dev server, started as `countersign up` starts it,
with the same driver as bench/decisions.py's (a), measured in turn for
`--rounds` rounds:

(a) the raw engine: bench/raw_workflow.py's RawFivePartyApproval;
(s) the same workflow upserting Countersign's four search attributes at each
    decision (RawSearchable), and nothing else of Countersign.

(s)'s decisions/s over (a)'s is the best ratio bench/decisions.py could show
for any implementation that upserts at each decision. Prints each round,
the median round, Temporal's CPU per decision, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
from pathlib import Path

from temporalio.client import Client

from bench.common import CpuMeter, dev_server_pid, free_port
from bench.decisions import Figures, raw_engine
from bench.raw_workflow import RawFivePartyApproval, RawSearchable
from workflows import dev_server
from workflows import search_attributes as sa

SIDES = {"raw engine": RawFivePartyApproval, "raw engine + search attributes": RawSearchable}


def temporal_ms_per_decision(figures: Figures) -> float:
    return 1000 * figures.cpu["Temporal dev server"] * figures.seconds / figures.decisions


async def check_upserted(address: str, workflow_id: str) -> None:
    """What (s) measures is what it says: a decided run's attributes are set."""
    described = await (await Client.connect(address)).get_workflow_handle(workflow_id).describe()
    attributes = described.typed_search_attributes
    assert attributes.get(sa.STATUS) == "approved" and attributes.get(sa.STAGE) == "Review", attributes
    assert attributes.get(sa.NEXT_DUE) is None and not attributes.get(sa.PENDING), attributes


async def run(args: argparse.Namespace, data_dir: Path) -> dict:
    port = free_port(below=64536, also_free=(dev_server.UI_PORT_OFFSET,))
    rounds: list[dict[str, Figures]] = []
    async with dev_server.running(data_dir, port) as server:
        server_pid = dev_server_pid()
        processes = {"bench process (worker + client)": os.getpid(), "Temporal dev server": server_pid}
        for number in range(1, args.rounds + 1):
            figures = {}
            for name, workflow in SIDES.items():
                print(f"{name} (round {number} of {args.rounds}) ...", flush=True)
                figures[name] = await raw_engine(server.address, args.proposals, args.concurrency, args.warmup,
                                                 1, CpuMeter(processes), workflow)
            rounds.append(figures)
        await check_upserted(server.address, rounds[0]["raw engine + search attributes"].workflow_ids[0])

    plain, searchable = SIDES
    ratios = [r[searchable].per_second / r[plain].per_second for r in rounds]
    median = sorted(range(len(rounds)), key=lambda i: ratios[i])[len(rounds) // 2]
    print(f"\n{args.proposals} proposals x 5 decisions, {args.concurrency} in flight, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("rounds: decisions/s with search attributes / without = ratio (Temporal's CPU, ms a decision)")
    for number, (r, ratio) in enumerate(zip(rounds, ratios), 1):
        print(f"  {number}: {r[searchable].per_second:.1f} / {r[plain].per_second:.1f} = {ratio:.2f} "
              f"({temporal_ms_per_decision(r[searchable]):.2f} / {temporal_ms_per_decision(r[plain]):.2f})")
    print(f"median round ({median + 1}):")
    print(f"{'':32}{'decisions/s':>12}{'p99 ms':>9}{'Temporal CPU ms/decision':>26}")
    for name in SIDES:
        f = rounds[median][name]
        s = f.summary()
        print(f"{name:32}{s['decisions_per_second']:>12.1f}{s['p99_ms']:>9.1f}{temporal_ms_per_decision(f):>26.2f}")
    print(f"ratio {ratios[median]:.2f} (median of {len(ratios)}; mean {statistics.mean(ratios):.2f}): about the highest "
          "Countersign / raw ratio bench/decisions.py can show with an upsert at each decision, within the noise")
    return {
        "benchmark": "search_attributes", "proposals": args.proposals, "concurrency": args.concurrency,
        "cpus": os.cpu_count(), "load_average": os.getloadavg()[0],
        "raw": rounds[median][plain].summary(), "searchable": rounds[median][searchable].summary(),
        "temporal_cpu_ms_per_decision": {name: round(temporal_ms_per_decision(rounds[median][name]), 2)
                                         for name in SIDES},
        "ratio_decisions_per_second": round(ratios[median], 3), "round_ratios": [round(r, 3) for r in ratios],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--proposals", type=int, default=150)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="countersign-bench-") as tmp:
        result = asyncio.run(run(args, Path(tmp)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
