"""Record the Temporal event histories that tests/replay/test_replay.py replays.

    .venv/bin/python -m tests.replay.record_histories --out tests/replay/histories/GENERATION [--only KIND ...]

The generation recorded for 0.2.0 is `v0.2` (CHANGELOG.md), with the SDK's
default data converter.

Each kind of run (approve, reject, changes then resubmit, conditions then
acknowledge, expiry, withdraw, partial approval, and one left in flight) is
driven on the time-skipping test server with a real worker and a throwaway
SQLite database, and its history is written to
the --out directory as <kind>.json.

These files stand for proposals already running in production. The replay
test fails when workflow code (or the routing core it calls) would make a
different decision from one of them: that is the point. Do NOT rerun this
script to make a failing replay test pass. A change to workflow behaviour
must keep old histories replaying, by branching on `workflow.patched("id")`
(see docs/changing-workflows.md); then record the runs of the new branch
into a new generation directory beside the old ones (and add it to
GENERATIONS in test_replay.py). Re-record an existing history only when the change is
*meant* to break in-flight proposals and none are running anywhere (for
example before the first release, or after every old run has concluded).
"""

from __future__ import annotations

import argparse
import asyncio
import sysconfig
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from countersign.domain.policy import Policy, load_policy
from countersign.storage.db import make_engine, migrate, transaction
from countersign.storage.queries import workflow_id
from countersign.storage.tables import ProposalNumber, utcnow
from tests import factories
from workflows import client as wf
from workflows import history
from workflows import search_attributes as sa
from workflows.messages import (
    AcknowledgeRequest,
    DecisionRequest,
    EvidenceRequest,
    EvidenceReview,
    GrantActionRequest,
    ProposalInput,
    QuestionSignal,
    ResubmitRequest,
    WithdrawRequest,
)
from workflows.worker import build_worker

TEST_SERVER = Path(sysconfig.get_path("scripts")) / "temporal-test-server"
LEAD = "lead@example.com"
ALL = ["sony", "universal", "warner", "merlin", "believe"]


@dataclass
class Run:
    """One proposal being driven: its id, the client and the database."""

    env: WorkflowEnvironment
    engine: Engine
    task_queue: str
    policy: Policy
    proposal_id: int = 0

    @property
    def client(self) -> Client:
        return self.env.client

    @property
    def handle(self) -> WorkflowHandle:
        return self.client.get_workflow_handle(workflow_id(self.proposal_id))

    async def start(self, parties: list[str], **content) -> None:
        with transaction(self.engine) as session:
            number = ProposalNumber(allocated_at=utcnow())
            session.add(number)
            session.flush()
            self.proposal_id = number.id
        body = factories.submission(parties=parties, **content)
        await wf.start_proposal(self.client, self.task_queue, ProposalInput(self.proposal_id, LEAD, body, self.policy))

    async def decide(self, party: str, verdict: str = "approve", comment: str = "", version: int = 1) -> str:
        request = DecisionRequest(party, verdict, comment, version, f"rep.{party}@example.com")
        result = await wf.decide(self.client, self.proposal_id, request, f"decision-{uuid.uuid4()}")
        return result.status


# -- the kinds of run ------------------------------------------------------


async def approve(run: Run) -> None:
    """The shipped three-stage policy, every label approving every stage."""
    await run.start(ALL)
    for _stage in range(3):
        for party in ALL:
            status = await run.decide(party)
    assert status == "approved", status


async def reject(run: Run) -> None:
    await run.start(ALL)
    await run.decide("sony")
    await run.decide("universal", "reject", "Our catalog is not licensed for this.")
    assert await run.handle.result() == "rejected"


async def changes_resubmit(run: Run) -> None:
    await run.start(["sony", "warner", "merlin"])
    await run.decide("sony")
    assert await run.decide("warner", "request_changes", "Name the licence.") == "changes_requested"
    await run.env.sleep(timedelta(days=20))  # deadlines pause while the lead edits
    body = factories.submission(parties=["sony", "warner", "merlin"], title="AI remix studio v2")
    await wf.resubmit(run.client, run.proposal_id, ResubmitRequest(LEAD, body))
    await run.decide("warner", version=2)
    assert await run.decide("merlin", version=2) == "approved"


async def conditions(run: Run) -> None:
    await run.start(["sony", "believe"])
    await run.decide("sony", "approve_with_conditions", "Credit the producers.")
    assert await run.decide("believe") == "in_review"  # waits for the lead
    result = await wf.acknowledge(run.client, run.proposal_id, AcknowledgeRequest(LEAD))
    assert result.status == "approved", result


async def expiry(run: Run) -> None:
    """Reminders, escalation and expiry, all from timers."""
    await run.start(["sony", "believe"])
    await run.decide("sony")
    await run.env.sleep(timedelta(days=30))
    assert await run.handle.result() == "expired"


async def withdraw(run: Run) -> None:
    await run.start(ALL)
    await run.decide("merlin")
    await wf.withdraw(run.client, run.proposal_id, WithdrawRequest(LEAD, "Launch cancelled."))
    assert await run.handle.result() == "withdrawn"


async def partial(run: Run) -> None:
    await run.start(["sony", "universal", "merlin"])
    await run.decide("universal", "reject", "Not for our catalog.")
    await run.decide("sony")
    await run.decide("merlin")
    await run.decide("sony")
    assert await run.decide("merlin") == "approved_partial"


async def in_flight(run: Run) -> None:
    """Still open when recorded: two decisions in, the first reminders sent."""
    await run.start(ALL)
    await run.decide("sony")
    await run.decide("warner", "approve_with_conditions", "Label the output as AI-assisted.")
    await run.env.sleep(timedelta(days=11))  # 7+ business days everywhere: reminders go out


async def tiers_grants(run: Run) -> None:
    """Issue 26's branches (patches "material-changes" and "grants"): a high-risk
    route, an unchanged, a cosmetic and a material resubmission, then the grants'
    lifecycle to its end: conditions become an obligation, one label revokes, the rest expire."""
    labels = ["sony", "universal", "warner"]
    voice = dict(capability="voice", synthesises=["voice"], launch_scope="broad_rollout")
    await run.start(labels, **voice)
    for party in labels:
        await run.decide(party)
    await run.decide("universal")
    await run.decide("sony", "request_changes", "Name the voice actors.")
    cosmetic = factories.submission(parties=labels, summary="Voice actors named.", **voice)
    await wf.resubmit(run.client, run.proposal_id, ResubmitRequest(LEAD, cosmetic))
    await run.decide("sony", "request_changes", "Pay them.", version=2)
    material = dict(cosmetic, checklist={**cosmetic["checklist"], "compensation": "Voice actors paid per use."})
    await wf.resubmit(run.client, run.proposal_id, ResubmitRequest(LEAD, material))
    for _stage in range(2):
        for party in labels:
            await run.decide(party, version=3)
    await run.decide("sony", version=3)
    await run.decide("warner", version=3)
    await run.decide("universal", "approve_with_conditions", "Report takedowns monthly.", version=3)
    await wf.acknowledge(run.client, run.proposal_id, AcknowledgeRequest(LEAD))
    await wf.submit_evidence(run.client, run.proposal_id, EvidenceRequest(1, "May's report.", LEAD))
    await wf.review_evidence(run.client, run.proposal_id,
                             EvidenceReview(1, "universal", True, "", "rep.universal@example.com"))
    await wf.grant_action(run.client, run.proposal_id,
                          GrantActionRequest("warner", "revoke", "Consent withdrawn.", "rep.warner@example.com"))
    await run.env.sleep(timedelta(seconds=310))
    assert await run.handle.result() == "approved"


async def widen_grants(run: Run) -> None:
    """An approved pilot widened to a broad rollout: a second round while the
    first grants hold, then the new grants, to their expiry."""
    labels = ["sony", "universal", "warner"]
    await run.start(labels, launch_scope="pilot")
    for party in labels:
        await run.decide(party)
    assert await run.decide("sony") == "approved"
    await run.env.sleep(timedelta(seconds=5))
    broad = factories.submission(parties=labels, launch_scope="broad_rollout")
    await wf.resubmit(run.client, run.proposal_id, ResubmitRequest(LEAD, broad))
    for party in labels:
        await run.decide(party, version=2)
    assert await run.decide("warner", version=2) == "approved"
    await run.env.sleep(timedelta(seconds=310))
    assert await run.handle.result() == "approved"


async def question_clock(run: Run) -> None:
    """Patch "question-clock": a question stops sony's clock past its due time and the answer
    restarts it, moved on; a question from a party that has decided changes nothing."""
    await run.start(["sony", "merlin"])
    await run.decide("merlin")
    await wf.question(run.client, run.proposal_id, QuestionSignal(101, "merlin", open=True))
    await wf.question(run.client, run.proposal_id, QuestionSignal(102, "sony", open=True))
    await run.env.sleep(timedelta(seconds=120))  # past due and grace: held
    await wf.question(run.client, run.proposal_id, QuestionSignal(102, "sony", open=False))
    await run.env.sleep(timedelta(seconds=55))  # the reminder, 10 s before the moved due time
    assert await run.decide("sony") == "approved"


def question_clock_policy() -> Policy:
    return load_policy(factories.POLICIES / "question_clock.toml")


async def continue_grants(run: Run) -> None:
    """Grants whose history reaches the policy's limit (patch "grants-continue-as-new"): the
    lifecycle continues as new, with updates sent at once across a run's end, to its expiry."""
    labels = ["sony", "universal", "warner"]
    await run.start(labels, launch_scope="pilot")
    await run.decide("sony")
    await run.decide("universal")
    await run.decide("warner", "approve_with_conditions", "Report monthly.")
    await wf.acknowledge(run.client, run.proposal_id, AcknowledgeRequest(LEAD))
    await wf.submit_evidence(run.client, run.proposal_id, EvidenceRequest(1, "May's report.", LEAD))
    for action in ("suspend", "resume", "suspend", "resume"):
        await asyncio.gather(*(wf.grant_action(run.client, run.proposal_id, GrantActionRequest(
            party, action, "Audit.", f"rep.{party}@example.com")) for party in labels))
    await run.env.sleep(timedelta(seconds=310))
    assert await run.handle.result() == "approved"


def tiers_policy() -> Policy:
    return load_policy(factories.POLICIES / "tiers_seconds.toml")


def partial_policy() -> Policy:
    return factories.policy({"name": "Rights", "due": "10 business days"},
                            {"name": "Legal", "due": "5 business days"}, allow_partial=True)


KINDS: dict[str, tuple[Callable[[Run], Awaitable[None]], Callable[[], Policy]]] = {
    "approve": (approve, load_policy),
    "reject": (reject, factories.policy),
    "changes_resubmit": (changes_resubmit, factories.policy),
    "conditions": (conditions, factories.policy),
    "expiry": (expiry, factories.policy),
    "withdraw": (withdraw, factories.policy),
    "partial": (partial, partial_policy),
    "in_flight": (in_flight, factories.policy),
    "tiers_grants": (tiers_grants, tiers_policy),
    "widen_grants": (widen_grants, tiers_policy),
    "question_clock": (question_clock, question_clock_policy),
    "continue_grants": (continue_grants, lambda: load_policy(factories.POLICIES / "grants_continue_seconds.toml")),
}


async def record(kinds: list[str], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'record.sqlite3'}")
        migrate(engine)
        factories.all_users(engine)
        env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(TEST_SERVER))
        try:
            await sa.register(env.client, "default")
            for kind in kinds:
                drive, make_policy = KINDS[kind]
                policy = make_policy()
                run = Run(env, engine, f"record-{kind}-{uuid.uuid4().hex[:8]}", policy)
                async with build_worker(env.client, engine, run.task_queue, policy):
                    await drive(run)
                    runs = await history.fetch_runs(run.client, run.handle.id)
                # A run continued as new is a history of its own: <kind>.run1.json, <kind>.run2.json, ...
                for number, one in enumerate(runs, start=1):
                    path = out / (f"{kind}.json" if len(runs) == 1 else f"{kind}.run{number}.json")
                    path.write_text(one.to_json() + "\n")
                    written.append(path)
                    print(f"{kind}: {len(one.events)} events -> {path}")
        finally:
            await env.shutdown()
            engine.dispose()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=list(KINDS), help="record these kinds only")
    parser.add_argument("--out", type=Path, required=True,
                        help="directory for the .json files: a generation under tests/replay/histories/")
    args = parser.parse_args()
    asyncio.run(record(args.only or list(KINDS), args.out))


if __name__ == "__main__":
    main()
