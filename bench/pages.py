"""Page render times with 10,000 proposals in the database.

    .venv/bin/python -m bench.pages [--proposals 10000] [--requests 50]

Seeds a fresh SQLite database straight into the read-model tables (users,
proposal, proposal_version, party_review, decision, condition, audit_entry:
a mix of proposals in review, returned for changes, approved with
conditions, rejected), serves the app on a local port (no worker: pages only
read), signs in through the login form as each role and times N requests of
each main page, end to end over HTTP. Prints the median and p95 of each and
one JSON line; the target is a median under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import insert
from sqlmodel import Session, select

from api.app import create_app
from countersign.domain.policy import load_policy
from countersign.settings import Settings
from countersign.storage import queries
from countersign.storage.accounts import create_user
from countersign.storage.db import make_engine, migrate, transaction
from countersign.storage.tables import (
    AuditEntry,
    ConditionRecord,
    Decision,
    PartyReview,
    Proposal,
    ProposalNumber,
    ProposalVersion,
    User,
)
from tests.live_server import free_port

PASSWORD = "quiet orchid pebble 42"  # not secret; passes the password checks
STAGES = [stage.name for stage in load_policy().stages]
PARTIES = tuple(load_policy().parties)
CONTENT = {
    "title": "", "summary": "Fans remix licensed stems inside the app.", "capability": "remix",
    "parties": list(PARTIES), "data_sources": "Licensed stems supplied by each label; no user uploads.",
    "launch_scope": "pilot", "requested_decision_date": None,
    "checklist": {"agreements": "Covered by the 2026 stem licence.", "artist_choice": "Artists opt in per release.",
                  "compensation": "Pro-rata share of remix revenue.",
                  "attribution": "Original artists credited; output labelled AI-assisted.",
                  "safeguards": "No voice models; watermarking of every export."},
}


def seed(engine, count: int, rng: random.Random) -> dict[str, int]:
    with transaction(engine) as session:
        users = [create_user(session, "lead@example.com", "lead", PASSWORD),
                 create_user(session, "compliance@example.com", "compliance", PASSWORD)]
        users += [create_user(session, f"rep.{p}@example.com", "rep", PASSWORD, party=p, parties=PARTIES)
                  for p in PARTIES]
        for n in range(40):  # other leads share the rest; their hashes need not be slow
            session.add(User(email=f"lead{n}@example.com", name=f"Lead {n}", role="lead", password_hash="x",
                             created_at=datetime.now(UTC)))
        session.flush()
        lead_ids = [u.id for u in session.exec(select(User).where(User.role == "lead"))]
    main_lead = users[0].id
    now = datetime.now(UTC)
    proposals, versions, reviews, decisions, conditions, audit = [], [], [], [], [], []
    for pid in range(1, count + 1):
        owner = main_lead if pid % 5 == 0 else rng.choice(lead_ids)  # the bench's lead owns a fifth: 2,000
        parties = list(PARTIES) if rng.random() < 0.7 else sorted(rng.sample(PARTIES, rng.randint(1, 4)))
        created = now - timedelta(days=rng.uniform(0, 365))
        kind = rng.random()
        status = ("in_review" if kind < 0.45 else "changes_requested" if kind < 0.55 else
                  "approved" if kind < 0.85 else "rejected")
        stage_index = rng.randint(0, len(STAGES) - 1) if status == "in_review" else len(STAGES) - 1
        version = 2 if status == "changes_requested" or rng.random() < 0.2 else 1
        pending = []
        for s in range(stage_index + 1):
            last = s == stage_index
            due = created + timedelta(days=14 * (s + 1))
            for party in parties:
                if last and status == "in_review":
                    state = "pending" if rng.random() < 0.6 else "approved"
                elif last and status == "changes_requested" and party == parties[0]:
                    state = "changes_requested"
                elif last and status == "rejected" and party == parties[-1]:
                    state = "rejected"
                else:
                    state = "approved_with_conditions" if rng.random() < 0.05 else "approved"
                if state == "pending":
                    pending.append(party)
                decided = None if state == "pending" else created + timedelta(days=14 * s + rng.uniform(1, 13))
                reviews.append(dict(proposal_id=pid, stage_index=s, stage=STAGES[s], party=party, state=state,
                                    current=last, due_at=due, waiting=last and state == "pending", decided_by=None if decided is None else
                                    f"rep.{party}@example.com", decided_at=decided, version=version,
                                    comment=None if state in ("pending", "approved") else "Please say more."))
                if decided is not None:
                    verdict = {"approved": "approve", "approved_with_conditions": "approve_with_conditions",
                               "changes_requested": "request_changes", "rejected": "reject"}[state]
                    decisions.append(dict(decision_id=f"d-{pid}-{s}-{party}", proposal_id=pid, version=version,
                                          stage=STAGES[s], party=party, decision=verdict, comment=None,
                                          actor=f"rep.{party}@example.com", decided_at=decided))
                    if verdict == "approve_with_conditions":
                        conditions.append(dict(proposal_id=pid, party=party, text="Label AI output.",
                                               version=version, acknowledged=rng.random() < 0.5))
        title = f"AI product {pid}"
        for number in range(1, version + 1):
            versions.append(dict(proposal_id=pid, number=number, content={**CONTENT, "title": title,
                                                                          "parties": parties},
                                 submitted_by="lead@example.com", submitted_at=created))
        audit.append(dict(proposal_id=pid, seq=1, kind="submitted", at=created, actor="lead@example.com",
                          party=None, detail={}, prev_hash="0" * 64, hash=f"{pid:064x}"))
        for s in range(stage_index + 1):  # each stage opened (the charts' time to decision starts there)
            audit.append(dict(proposal_id=pid, seq=2 + s, kind="routed", at=created + timedelta(days=14 * s),
                              actor=None, party=None, detail={"stage": STAGES[s]}, prev_hash="0" * 64,
                              hash=f"{pid:060x}{s:04x}"))
        next_due = min((r["due_at"] for r in reviews[-len(parties):] if r["state"] == "pending"), default=None)
        proposals.append(dict(id=pid, owner_id=owner, title=title, capability="remix", parties=parties,
                              status=status, version=version, stage=STAGES[stage_index], pending=pending,
                              outcome_scope=None, next_due_at=next_due, last_step=1, created_at=created,
                              updated_at=created + timedelta(days=rng.uniform(0, 30))))
    with engine.begin() as conn:
        for model, rows in ((Proposal, proposals), (ProposalVersion, versions), (PartyReview, reviews),
                            (Decision, decisions), (ConditionRecord, conditions), (AuditEntry, audit)):
            for start in range(0, len(rows), 5000):
                conn.execute(insert(model), rows[start:start + 5000])
        conn.execute(insert(ProposalNumber), [{"id": count, "allocated_at": now}])
    return {"proposals": len(proposals), "party_reviews": len(reviews), "versions": len(versions),
            "decisions": len(decisions)}


class Server:
    def __init__(self, app) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def signed_in(url: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    page = client.get("/login").text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303, response.text
    return client


def summary(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {"median_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1)}


def get(client: httpx.Client, path: str) -> float:
    start = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, (path, response.status_code)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proposals", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
        migrate(engine)
        started = time.perf_counter()
        counts = seed(engine, args.proposals, random.Random(args.seed))
        print(f"seeded {counts} in {time.perf_counter() - started:.1f} s")
        settings = Settings(data_dir=Path(tmp), secret_key="bench-" + "x" * 32, environment="development",
                            database_url=f"sqlite:///{path}", temporal_address="127.0.0.1:1")
        app = create_app(settings, engine=engine)
        sample = args.proposals // 2 - (args.proposals // 2) % 5  # one of lead@'s proposals
        with Session(engine) as session:  # the first thing in Sony's inbox, for the decision form
            waiting = queries.inbox_rows(session, "sony", limit=1)
            open_for_sony = waiting[0][0].id if waiting else sample
        pages = {
            "dashboard (lead)": ("lead@example.com", "/"),
            "dashboard (rep)": ("rep.sony@example.com", "/"),
            "dashboard (compliance)": ("compliance@example.com", "/"),
            "dashboard, page 20 (compliance)": ("compliance@example.com", "/?page=20"),
            "dashboard, in review (compliance)": ("compliance@example.com", "/?status=in_review"),
            "inbox (rep)": ("rep.sony@example.com", "/inbox"),
            "proposal page (lead)": ("lead@example.com", f"/proposals/{sample}"),
            "proposal page (compliance)": ("compliance@example.com", f"/proposals/{sample}"),
            "decision form (rep)": ("rep.sony@example.com", f"/proposals/{open_for_sony}/decide"),
            "compliance charts": ("compliance@example.com", "/compliance/charts"),
            "live dashboard fragment (lead)": ("lead@example.com", "/live/dashboard"),
            "live inbox fragment (rep)": ("rep.sony@example.com", "/live/inbox"),
            "live proposal fragment (rep)": ("rep.sony@example.com", f"/proposals/{sample}/live"),
        }
        results = {}
        with Server(app) as server:
            clients: dict[str, httpx.Client] = {}
            plan = []
            for name, (email, page) in pages.items():
                client = clients.get(email) or clients.setdefault(email, signed_in(server.url, email))
                if client.get(page, follow_redirects=False).status_code != 200:
                    print(f"{name:38} skipped (not open to {email} in this data)")
                    continue
                plan.append((name, client, page))
            for _ in range(3):  # warm every page
                for name, client, page in plan:
                    get(client, page)
            times: dict[str, list[float]] = {name: [] for name, _, _ in plan}
            for _ in range(args.requests):  # round-robin, so a busy moment of the machine hits every page alike
                for name, client, page in plan:
                    times[name].append(get(client, page))
            for name, _, _ in plan:
                results[name] = summary(times[name])
                print(f"{name:38} median {results[name]['median_ms']:7.1f} ms   p95 {results[name]['p95_ms']:7.1f} ms")
            for client in clients.values():
                client.close()
        engine.dispose()
    worst = max(r["median_ms"] for r in results.values())
    print(f"slowest median {worst:.1f} ms: {'within' if worst < 100 else 'OVER'} the 100 ms target")
    print(json.dumps({"bench": "pages", "proposals": args.proposals, "requests": args.requests, **counts,
                      "pages": results, "slowest_median_ms": worst, "target_ms": 100}))


if __name__ == "__main__":
    main()
