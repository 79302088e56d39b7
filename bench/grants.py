"""The grants check's answer time with 100,000 grants in the read model.

    .venv/bin/python -m bench.grants [--grants 100000] [--requests 500]

Seeds a fresh SQLite database straight into the read model (20,000 approved
proposals, a grant for each of the five labels: active, suspended, revoked
or past expiry, some with an overdue obligation), serves the app on a local
port (no worker: the check only reads), and times N calls of
`GET /api/v1/grants/check` with a token limited to that call, end to end
over HTTP, each for a random proposal and label. Prints the median and p95,
and one JSON line; the target is a median under 5 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert

from api.app import create_app
from bench.pages import Server, summary
from countersign.domain.policy import load_policy
from countersign.settings import Settings
from countersign.storage.accounts import create_token, create_user
from countersign.storage.db import make_engine, migrate, transaction
from countersign.storage.grant_tables import GrantRecord, ObligationRecord
from countersign.storage.tables import Proposal, ProposalNumber

PARTIES = tuple(load_policy().parties)
SCOPES = ("internal_sandbox", "pilot", "broad_rollout")


def seed(engine, grants: int, rng: random.Random) -> dict[str, int]:
    with transaction(engine) as session:
        owner = create_user(session, "lead@example.com", "lead", "bench password 123")
    now = datetime.now(UTC)
    count = grants // len(PARTIES)
    proposals, rows, obligations = [], [], []
    for pid in range(1, count + 1):
        proposals.append(dict(id=pid, owner_id=owner.id, title=f"Product {pid}", capability="remix",
                              parties=list(PARTIES), status="approved", version=1, stage="Executive approval",
                              pending=[], last_step=9, created_at=now, updated_at=now))
        for party in PARTIES:
            state = rng.choices(("active", "suspended", "revoked"), (8, 1, 1))[0]
            expires = now + timedelta(days=rng.uniform(-30, 365))
            rows.append(dict(proposal_id=pid, party=party, state=state, scope=rng.choice(SCOPES), markets=[],
                             starts_at=now - timedelta(days=30), expires_at=expires, version=1))
            if rng.random() < 0.1:
                obligations.append(dict(proposal_id=pid, number=len(obligations) + 1, party=party, text="Report",
                                        due_at=now + timedelta(days=rng.uniform(-10, 30)), state="open"))
    with engine.begin() as conn:
        for model, batch in ((Proposal, proposals), (GrantRecord, rows), (ObligationRecord, obligations)):
            for start in range(0, len(batch), 5000):
                conn.execute(insert(model), batch[start:start + 5000])
        conn.execute(insert(ProposalNumber), [{"id": count, "allocated_at": now}])
    return {"proposals": len(proposals), "grants": len(rows), "obligations": len(obligations)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grants", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--seed", type=int, default=26)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
        migrate(engine)
        started = time.perf_counter()
        counts = seed(engine, args.grants, rng)
        print(f"seeded {counts} in {time.perf_counter() - started:.1f} s")
        with transaction(engine) as session:
            token = create_token(session, "lead@example.com", scope="grants:check")
        settings = Settings(data_dir=Path(tmp), secret_key="bench-" + "x" * 32, environment="development",
                            database_url=f"sqlite:///{path}", temporal_address="127.0.0.1:1")
        app = create_app(settings, engine=engine)
        with Server(app) as server, httpx.Client(base_url=server.url, timeout=30,
                                                 headers={"Authorization": f"Bearer {token}"}) as client:
            def call() -> tuple[float, str]:
                params = {"proposal": rng.randint(1, counts["proposals"]), "party": rng.choice(PARTIES),
                          "scope": rng.choice(SCOPES)}
                start = time.perf_counter()
                response = client.get("/api/v1/grants/check", params=params)
                elapsed = (time.perf_counter() - start) * 1000
                assert response.status_code == 200, response.text
                return elapsed, response.json()["reason"]

            for _ in range(50):  # warm up
                call()
            results = [call() for _ in range(args.requests)]
        engine.dispose()
    found = summary([ms for ms, _ in results])
    reasons = {reason: sum(1 for _, r in results if r == reason) for reason in sorted({r for _, r in results})}
    verdict = "within" if found["median_ms"] < 5 else "OVER"
    print(f"grants check: median {found['median_ms']} ms, p95 {found['p95_ms']} ms ({verdict} the 5 ms target)")
    print(f"answers: {reasons}")
    print(json.dumps({"bench": "grants", **counts, "requests": args.requests, **found, "reasons": reasons,
                      "target_ms": 5}))


if __name__ == "__main__":
    main()
