"""A long-lived grants' lifecycle continues as new (issue 26): with a history
limit of 50 events (tests/policies/grants_continue_seconds.toml) the workflow
runs on through several runs, each carrying the grants and obligations on.
Updates sent at once across a run's end are all answered and recorded; the
check, a revocation and the expiry still work in a later run; `audit
reconcile` reads the whole chain of runs, and still finds a tampered entry."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest_asyncio
from sqlmodel import Session, select

from api.cli_audit import reconcile_all
from countersign.domain.policy import load_policy
from countersign.storage import grants
from countersign.storage.tables import AuditEntry
from tests import factories
from tests.audit.conftest import set_detail
from tests.workflows.test_proposal_workflow import decision, start
from workflows import client as wf
from workflows import history
from workflows.messages import AcknowledgeRequest, EvidenceRequest, EvidenceReview, GrantActionRequest
from workflows.worker import build_worker

POLICY = load_policy(factories.POLICIES / "grants_continue_seconds.toml")
LABELS = ["sony", "universal", "warner"]
LEAD = "lead@example.com"


@pytest_asyncio.fixture
async def worker(temporal_env, engine, task_queue):
    async with build_worker(temporal_env.client, engine, task_queue, POLICY) as running:
        yield running


def act(party: str, action: str, reason: str = "Audit") -> GrantActionRequest:
    return GrantActionRequest(party, action, reason, f"rep.{party}@example.com")


def check(engine, pid: int, party: str, now) -> str:
    with Session(engine) as session:
        return grants.check(session, pid, party, "pilot", now, False)[0].reason


async def test_grants_run_on_across_runs_and_reconcile_reads_them_all(temporal_env, engine, task_queue, worker):
    client = temporal_env.client
    factories.all_users(engine, POLICY)
    pid = await start(temporal_env, engine, task_queue, POLICY, parties=LABELS, launch_scope="pilot")
    for party in LABELS[:2]:
        await wf.decide(client, pid, decision(party), str(uuid.uuid4()))
    await wf.decide(client, pid, decision("warner", "approve_with_conditions", "Report monthly"), str(uuid.uuid4()))
    assert (await wf.acknowledge(client, pid, AcknowledgeRequest(LEAD))).status == "approved"

    # Evidence and grant actions, some sent at once, over the runs' ends: each is answered once.
    await wf.submit_evidence(client, pid, EvidenceRequest(1, "May's report.", LEAD))
    await wf.review_evidence(client, pid, EvidenceReview(1, "warner", False, "Add June", "rep.warner@example.com"))
    for _ in range(3):
        await asyncio.gather(*(wf.grant_action(client, pid, act(party, "suspend")) for party in LABELS))
        await asyncio.gather(*(wf.grant_action(client, pid, act(party, "resume")) for party in LABELS))
    runs = await history.fetch_runs(client, f"proposal-{pid}")
    assert len(runs) >= 3, [len(r.events) for r in runs]
    assert all(len(run.events) < 50 + 40 for run in runs)  # each run ends soon after the limit

    # In the latest run: the check, a revocation, then the expiry.
    now = await temporal_env.get_current_time()
    assert [check(engine, pid, party, now) for party in LABELS] == ["granted"] * 3
    await wf.grant_action(client, pid, act("warner", "revoke", "Consent withdrawn"))
    assert check(engine, pid, "warner", now) == "revoked" and check(engine, pid, "sony", now) == "granted"
    await temporal_env.sleep(timedelta(seconds=310))
    assert await client.get_workflow_handle(f"proposal-{pid}").result() == "approved"
    now = await temporal_env.get_current_time()
    assert [check(engine, pid, party, now) for party in LABELS] == ["expired", "expired", "revoked"]

    # Reconcile reads every run: the steps are numbered on across them, none lost or doubled.
    loaded = await history.load(client, pid)
    steps = [s.step for s in loaded.facts.steps]
    assert steps == list(range(1, len(steps) + 1)) and {s.run for s in loaded.facts.steps} >= {1, 2, 3}
    assert loaded.facts.status == "COMPLETED"
    with Session(engine) as session:
        entries = session.exec(select(AuditEntry).where(AuditEntry.proposal_id == pid)
                               .order_by(AuditEntry.seq)).all()
    kinds = [e.kind for e in entries]
    assert kinds.count("grant_suspended") == 9 and kinds.count("grant_resumed") == 9
    assert {"evidence_submitted", "evidence_returned", "grant_revoked", "grant_expired"} <= set(kinds)
    assert await reconcile_all(engine, client, [pid]) == []
    resumed = next(e for e in reversed(entries) if e.kind == "grant_resumed")  # recorded in a later run
    set_detail(engine, pid, resumed.seq, {"reason": "forged"})
    [found] = await reconcile_all(engine, client, [pid])
    assert found.kind == "trail_differs" and f"seq {resumed.seq}" in found.message
