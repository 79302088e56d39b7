"""One visibility upsert's SQLite work: Temporal's schema as it creates it, against the one `countersign up` leaves.

    .venv/bin/python -m bench.visibility_indexes [--runs 2000] [--rounds 3]

The embedded dev server writes a run's visibility row (Temporal's upsert:
INSERT ... ON CONFLICT DO UPDATE SET every column) at each search-attribute
upsert, so at every decision but a proposal's last. workflows/dev_visibility.py
drops the indexes of that table no query of ours uses. This measures what an
upsert costs with and without them: the dev server's schema is made once by
the SDK's `start_local` (untouched), copied, one copy given the treatment
`countersign up` gives it, and then `--runs` rows are each upserted four
times with Countersign's attributes changing (pending parties shrinking), in
turn on both copies for `--rounds` rounds. Python's SQLite, with
synchronous=OFF so that the figures are the CPU of the statement and not the
disk; the server's own SQLite (Go) does the same work more slowly.
Prints microseconds per upsert for each, their ratio, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
import uuid
from contextlib import closing
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from bench.common import BIN
from workflows import dev_visibility
from workflows import search_attributes as sa

BASE_COLUMNS = ("namespace_id", "run_id", "_version", "start_time", "execution_time", "workflow_id",
                "workflow_type_name", "status", "close_time", "history_length", "history_size_bytes",
                "execution_duration", "state_transition_count", "memo", "encoding", "task_queue",
                "search_attributes", "parent_workflow_id", "parent_run_id", "root_workflow_id", "root_run_id")
UPSERT = (f"INSERT INTO executions_visibility ({', '.join(BASE_COLUMNS)}) VALUES ({', '.join('?' * len(BASE_COLUMNS))}) "
          f"ON CONFLICT (namespace_id, run_id) DO UPDATE SET "
          + ", ".join(f"{c} = excluded.{c}" for c in BASE_COLUMNS[2:]))
PARTIES = ["sony", "universal", "warner", "merlin", "believe"]


async def temporal_schema(directory: Path) -> tuple[Path, dict[str, str]]:
    """A dev server's database as Temporal creates it, and the slot each of our attributes is mapped to."""
    database = directory / "temporal.sqlite3"
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(BIN / "temporal"),
                                                dev_server_database_filename=str(database),
                                                search_attributes=sa.ALL, dev_server_log_level="error")
    try:
        return database, await dev_visibility.mapped_columns(env.client, "default")
    finally:
        await env.shutdown()


def copy(database: Path, to: Path) -> Path:
    """A copy of the whole database, its WAL included (SQLite's backup)."""
    with closing(sqlite3.connect(database)) as source, closing(sqlite3.connect(to)) as target:
        source.backup(target)
    return to


def microseconds_per_upsert(database: Path, aliases: dict[str, str], runs: int) -> float:
    """Microseconds per upsert: `runs` rows inserted, then each upserted four times."""
    slot = {alias: column for column, alias in aliases.items()}

    def row(index: int, version: int, run_ids: list[str]) -> tuple:
        attributes = {slot[sa.STATUS.name]: "in_review", slot[sa.STAGE.name]: "Review",
                      slot[sa.PENDING.name]: PARTIES[version:], slot[sa.NEXT_DUE.name]: "2026-12-10T17:00:00Z",
                      "BuildIds": ["unversioned"]}
        return ("bench-namespace", run_ids[index], version, "2026-12-04 02:00:00+00:00",
                "2026-12-04 02:00:00+00:00", f"proposal-{index}", "ProposalWorkflow", 1, None, 10 + version,
                1000 + 100 * version, None, 5 + version, b"", "Proto3", "countersign", json.dumps(attributes),
                None, None, f"proposal-{index}", run_ids[index])

    run_ids = [uuid.uuid4().hex for _ in range(runs)]
    with closing(sqlite3.connect(database, isolation_level=None)) as connection:
        connection.execute("PRAGMA synchronous=OFF")
        for index in range(runs):
            connection.execute(UPSERT, row(index, 0, run_ids))
        started = time.perf_counter()
        for version in range(1, 5):
            for index in range(runs):
                connection.execute("BEGIN")
                connection.execute(UPSERT, row(index, version, run_ids))
                connection.execute("COMMIT")
        return (time.perf_counter() - started) / (4 * runs) * 1e6


def index_count(database: Path) -> int:
    with closing(sqlite3.connect(database)) as connection:
        return len(dev_visibility.index_names(connection))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000, help="visibility rows, each upserted four times")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="countersign-bench-") as directory:
        directory = Path(directory)
        database, aliases = asyncio.run(temporal_schema(directory))
        sides = {"as Temporal creates it": set(), "as countersign up leaves it": set(aliases)}
        figures: dict[str, list[float]] = {name: [] for name in sides}
        counts = {}
        for number in range(args.rounds):
            for index, (name, mapped) in enumerate(sides.items()):
                path = copy(database, directory / f"round-{number}-{index}.sqlite3")
                if mapped:
                    dev_visibility.drop_unused(path, mapped)
                counts[name] = index_count(path)
                figures[name].append(microseconds_per_upsert(path, aliases, args.runs))
    full, lean = (statistics.median(figures[name]) for name in sides)
    print(f"{args.runs} visibility rows x 4 upserts, {args.rounds} rounds (median), Python's SQLite {sqlite3.sqlite_version}")
    for name in sides:
        print(f"  {name:28} {counts[name]:3d} indexes  {statistics.median(figures[name]):7.0f} µs per upsert  "
              f"(rounds: {', '.join(f'{v:.0f}' for v in figures[name])})")
    print(f"  ratio {lean / full:.2f}")
    print(json.dumps({"benchmark": "visibility_indexes", "runs": args.runs, "rounds": args.rounds,
                      "indexes": counts, "us_per_upsert": {"temporal": round(full), "countersign": round(lean)},
                      "ratio": round(lean / full, 3)}))


if __name__ == "__main__":
    main()
