"""The web process alone: CPU per request, and many clients at once.

    .venv/bin/python -m bench.web_load [--requests 1500] [--clients 80] [--database sqlite|postgresql]

Starts the whole service with `countersign up` on a temporary data dir (as
bench/decisions.py does), submits one proposal, and then

(1) sends `--requests` requests, 10 in flight, of each of two kinds, and
    prints the web process's CPU per request (from /proc): a request refused
    for want of a token (401: the framework and middleware alone), and
    `GET /api/v1/proposals/{id}` with a token (auth, the reads, the JSON);
(2) runs `--clients` clients at once, a quarter posting decisions to a
    proposal that does not exist (404, after the auth and the visibility
    check, as a decision's first half) and the rest reading the proposal, 40
    requests each: more clients than the database pool has connections
    (SQLite 15, PostgreSQL 30). It prints the wall time, the slowest request
    and the status codes: every answer should come, and none should be a 5xx.

Then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import httpx

from api.cli import CLIENT_KEEP_ALIVE
from bench.common import cpu_seconds, fresh_postgres
from bench.decisions import LEAD, SUBMISSION, Service

PER_CLIENT = 40


async def cpu_per_request(service: Service, url: str, headers: dict[str, str], requests: int) -> tuple[float, float]:
    """(web CPU ms per request, requests per second), 10 in flight."""
    left = requests
    async with httpx.AsyncClient(headers=headers, timeout=120) as client:
        async def runner() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                response = await client.get(url)
                if response.status_code not in (200, 401):
                    raise RuntimeError(f"{url} answered {response.status_code}: {response.text}")

        before, started = cpu_seconds(service.process.pid), time.perf_counter()
        await asyncio.gather(*(runner() for _ in range(10)))
        elapsed, used = time.perf_counter() - started, cpu_seconds(service.process.pid) - before
    return 1000 * used / requests, requests / elapsed


async def many_clients(service: Service, proposal_id: int, lead: str, rep: str, clients: int) -> dict:
    answers: list[tuple[float, int]] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients,
                          keepalive_expiry=CLIENT_KEEP_ALIVE)
    async with httpx.AsyncClient(base_url=f"{service.base_url}/api/v1", timeout=120, limits=limits) as http:
        async def reader() -> None:
            for _ in range(PER_CLIENT):
                started = time.perf_counter()
                response = await http.get(f"/proposals/{proposal_id}", headers={"Authorization": f"Bearer {lead}"})
                answers.append((time.perf_counter() - started, response.status_code))

        async def decider() -> None:
            for _ in range(PER_CLIENT):
                started = time.perf_counter()
                response = await http.post("/proposals/999999/decisions", json={"decision": "approve"},
                                           headers={"Authorization": f"Bearer {rep}"})
                answers.append((time.perf_counter() - started, response.status_code))

        deciders = clients // 4
        started = time.perf_counter()
        await asyncio.gather(*(reader() for _ in range(clients - deciders)), *(decider() for _ in range(deciders)))
        elapsed = time.perf_counter() - started
    return {"clients": clients, "requests": len(answers), "seconds": round(elapsed, 2),
            "slowest_s": round(max(seconds for seconds, _ in answers), 2),
            "status_codes": dict(Counter(code for _, code in answers))}


async def run(args: argparse.Namespace, data_dir: Path, database_url: str | None) -> dict:
    service = Service(data_dir, database_url)
    print(f"starting countersign up on {service.base_url} ...")
    await service.start()
    try:
        lead = service.add_user(LEAD, "lead")
        rep = service.add_user("bench.rep.sony@example.com", "rep", "sony")
        async with httpx.AsyncClient(base_url=f"{service.base_url}/api/v1") as http:
            response = await http.post("/proposals", json=SUBMISSION, headers={"Authorization": f"Bearer {lead}"})
            proposal_id = response.json()["id"]
        url = f"{service.base_url}/api/v1/proposals/{proposal_id}"
        refused = await cpu_per_request(service, url, {}, args.requests)
        read = await cpu_per_request(service, url, {"Authorization": f"Bearer {lead}"}, args.requests)
        load = await many_clients(service, proposal_id, lead, rep, args.clients)
    finally:
        service.stop()
    print(f"\n{'web CPU per request':34}{'ms':>8}{'requests/s':>12}")
    for name, (ms, rate) in (("401, no token", refused), ("GET /api/v1/proposals/{id}", read)):
        print(f"{name:34}{ms:>8.2f}{rate:>12.0f}")
    print(f"\n{load['clients']} clients at once ({args.database}): {load['requests']} requests in "
          f"{load['seconds']} s, slowest {load['slowest_s']} s, status codes {load['status_codes']}")
    return {"benchmark": "web_load", "database": args.database,
            "cpu_ms_per_request": {"unauthorized": round(refused[0], 2), "get_proposal": round(read[0], 2)},
            "many_clients": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1500, help="requests of each kind in part (1)")
    parser.add_argument("--clients", type=int, default=80, help="clients at once in part (2)")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    with ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="countersign-bench-")))
        database_url = stack.enter_context(fresh_postgres("countersign_web_load")) if args.database == "postgresql" else None
        result = asyncio.run(run(args, data_dir, database_url))
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
