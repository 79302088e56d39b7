"""What one recorded workflow step costs in the database, without Temporal.

    .venv/bin/python -m bench.record_step [--proposals 100] [--threads 1,10] [--database sqlite|postgresql]

Calls `ProposalActivities.record_step` directly, as the worker's activity
threads do, with the step records ProposalWorkflow would send: each proposal
is opened (first step) and then approved by its five labels (five steps).
Prints the time per decision step, p50 and p99, and steps per second, for
each number of threads writing at once, then one JSON line. (On SQLite,
`countersign.db.transaction` lets one thread of the process write at a time.)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import ONE_STAGE_POLICY, fresh_postgres, percentile
from bench.raw_workflow import PARTIES
from countersign import calendar
from countersign.db import make_engine, migrate, transaction
from countersign.models import ProposalNumber, utcnow
from countersign.policy import load_policy
from countersign.routing import Event, Review
from tests import factories
from workflows.activities import ProposalActivities
from workflows.messages import DecisionRecord, DecisionRequest, NewVersion, StepRecord

LEAD = "lead@example.com"


def steps_for(proposal_id: int, policy, start: datetime) -> list[StepRecord]:
    """The step records of one proposal approved by all five labels."""
    body = factories.submission()
    review, opening = Review.open(policy, body["parties"], start)
    submitted = Event("submitted", start, actor=LEAD, detail={"version": "1"})
    records = [StepRecord(proposal_id, 1, start, review.snapshot(), [submitted, *opening], created_by=LEAD,
                          new_version=NewVersion(1, body, LEAD))]
    for index, party in enumerate(PARTIES, start=1):
        at = start + timedelta(minutes=index)
        request = DecisionRequest(party, "approve", "", 1, f"rep.{party}@example.com")
        stage = review.stage.name
        events = review.decide(party, "approve", "", 1, request.actor, at)
        records.append(StepRecord(proposal_id, index + 1, at, review.snapshot(), events,
                                  decision=DecisionRecord(f"bench-{proposal_id}-{party}", request, stage)))
    return records


def measure(url: str, proposals: int, threads: int) -> dict:
    engine = make_engine(url)
    policy = load_policy(ONE_STAGE_POLICY)
    calendar.preload({party.holidays for party in policy.parties.values()})
    activities = ProposalActivities(engine, policy.parties, "http://127.0.0.1:8000")
    with transaction(engine) as session:
        numbers = [ProposalNumber(allocated_at=utcnow()) for _ in range(proposals)]
        session.add_all(numbers)
        session.flush()
        ids = [number.id for number in numbers]
    start = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    plans = [steps_for(pid, policy, start) for pid in ids]
    for plan in plans:
        activities.record_step(plan[0])  # opening: not measured
    durations: list[float] = []
    def decide_all(plan: list[StepRecord]) -> None:
        for step in plan[1:]:
            began = time.perf_counter()
            activities.record_step(step)
            durations.append(time.perf_counter() - began)

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(decide_all, plans))
    elapsed = time.perf_counter() - began
    engine.dispose()
    return {"threads": threads, "steps": len(durations), "steps_per_second": round(len(durations) / elapsed, 1),
            "p50_ms": round(1000 * percentile(durations, 0.5), 2), "p99_ms": round(1000 * percentile(durations, 0.99), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--proposals", type=int, default=100)
    parser.add_argument("--threads", default="1,10", help="comma-separated numbers of writing threads")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    results = []
    print(f"record_step on {args.database}: {args.proposals} proposals x 5 decision steps")
    print(f"{'threads':>8}{'steps/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for threads in map(int, args.threads.split(",")):
        with ExitStack() as stack:
            if args.database == "postgresql":
                url = stack.enter_context(fresh_postgres("countersign_bench"))
            else:
                url = f"sqlite:///{Path(stack.enter_context(tempfile.TemporaryDirectory())) / 'bench.sqlite3'}"
            engine = make_engine(url)
            migrate(engine)
            factories.user(engine, "lead", email=LEAD)
            engine.dispose()
            result = measure(url, args.proposals, threads)
        results.append(result)
        print(f"{threads:>8}{result['steps_per_second']:>10.1f}{result['p50_ms']:>9.2f}{result['p99_ms']:>9.2f}")
    print(json.dumps({"benchmark": "record_step", "database": args.database, "results": results}))


if __name__ == "__main__":
    main()
