"""Recording a step twice, on SQLite and PostgreSQL.

`record_step` runs as a local activity inside the workflow task that makes
the step. A retried activity brings the same record again; a workflow task
that never completed (the worker died after the transaction) is run again
and brings records of its own, with another time and perhaps other content.
Either way the database must end as the completed history says: each
decision once, and an audit chain that verifies.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select
from temporalio.exceptions import ApplicationError

from countersign.domain import calendar
from countersign.domain.routing import Event, Review
from countersign.storage import audit
from countersign.storage.tables import AuditEntry, Decision, OutboxMail, Proposal, ProposalVersion
from tests import factories
from workflows.activities import STEP_DIVERGED, STEPS_REPLACED, ProposalActivities
from workflows.messages import DecisionRecord, DecisionRequest, NewVersion, StepRecord

PROPOSAL = 4_343_431  # clear of the id blocks conftest reserves per test
LEAD = "lead@example.com"
START = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


class Run:
    """A proposal's review as the workflow drives it, producing its step records."""

    def __init__(self) -> None:
        self.policy = factories.policy()
        calendar.preload({party.holidays for party in self.policy.parties.values()})
        body = factories.submission()
        self.review, opening = Review.open(self.policy, body["parties"], START)
        submitted = Event("submitted", START, actor=LEAD, detail={"version": "1"})
        self.opening = StepRecord(PROPOSAL, 1, START, self.review.snapshot(), [submitted, *opening],
                                  created_by=LEAD, new_version=NewVersion(1, body, LEAD))

    def decide(self, step: int, party: str, decision_id: str, at: datetime) -> StepRecord:
        request = DecisionRequest(party, "approve", "", 1, f"rep.{party}@example.com")
        stage = self.review.stage.name
        events = self.review.decide(party, "approve", "", 1, request.actor, at)
        return StepRecord(PROPOSAL, step, at, self.review.snapshot(), events,
                          decision=DecisionRecord(decision_id, request, stage))

    def clock(self, step: int, at: datetime) -> StepRecord:
        return StepRecord(PROPOSAL, step, at, self.review.snapshot(), self.review.advance_clock(at))


@pytest.fixture
def activities(any_engine) -> ProposalActivities:
    factories.user(any_engine, "lead", email=LEAD)
    return ProposalActivities(any_engine, factories.policy().parties, "http://countersign.test")


def stored(engine) -> tuple[Proposal, list[Decision], list[AuditEntry]]:
    with Session(engine) as session:
        proposal = session.get(Proposal, PROPOSAL)
        decisions = session.exec(select(Decision).where(Decision.proposal_id == PROPOSAL)).all()
        entries = session.exec(select(AuditEntry).where(AuditEntry.proposal_id == PROPOSAL)
                               .order_by(col(AuditEntry.seq))).all()
        assert audit.verify(session, PROPOSAL).ok
    return proposal, decisions, entries


def test_the_same_record_twice_is_applied_once(activities, any_engine):
    run = Run()
    activities.apply(run.opening)
    record = run.decide(2, "sony", "sony-1", START + timedelta(hours=1))
    activities.apply(record)
    before = stored(any_engine)[2]
    activities.apply(record)  # the activity retried: its first outcome was lost
    activities.apply(run.opening)  # an older step, also retried late
    proposal, decisions, entries = stored(any_engine)
    assert [d.decision_id for d in decisions] == ["sony-1"]
    assert [(e.seq, e.hash) for e in entries] == [(e.seq, e.hash) for e in before]
    assert proposal.last_step == 2


def test_a_rerun_task_replaces_what_the_lost_one_wrote(activities, any_engine):
    """The worker died after recording sony's decision as step 2; Temporal ran
    the task again ten seconds later, when the first reminder's timer had fired
    too, and that run went first: step 2 is now the reminder, step 3 the
    decision, both at the re-run's time."""
    lost, rerun = Run(), Run()
    activities.apply(lost.opening)
    first_reminder = lost.review.next_deadline()
    activities.apply(lost.decide(2, "sony", "sony-1", first_reminder))
    with Session(any_engine) as session:
        session.add(OutboxMail(proposal_id=PROPOSAL, kind="reminded", recipient="sent@example.com", subject="s",
                               body="b", created_at=first_reminder, next_attempt_at=first_reminder,
                               sent_at=first_reminder, step=2))  # already sent: mail cannot be unsent
        session.commit()

    lost_entries = stored(any_engine)[2]

    later = first_reminder + timedelta(seconds=10)
    reminder = rerun.clock(2, later)
    assert {e.kind for e in reminder.events} == {"reminded"}  # the re-run really differs
    activities.apply(reminder)
    activities.apply(reminder)  # retried: replaced once
    proposal, decisions, entries = stored(any_engine)
    with Session(any_engine) as session:
        access = audit.chain(session, None)
    replaced = [e for e in access if e.kind == STEPS_REPLACED]
    assert len(replaced) == 1 and audit.verify_chain(access) is None
    assert replaced[0].detail == {
        "proposal_id": PROPOSAL, "steps": [2, 2], "rerun_at": later.isoformat(), "decision_ids": ["sony-1"],
        "entries": [dict(seq=e.seq, kind=e.kind, party=e.party, hash=e.hash) for e in lost_entries if e.step == 2]}
    assert "decided" in [entry["kind"] for entry in replaced[0].detail["entries"]]
    assert decisions == []  # the lost task's decision is not in the history: gone from the database too
    assert "decided" not in [e.kind for e in entries]
    assert proposal.last_step == 2 and proposal.last_step_at == later

    activities.apply(rerun.decide(3, "sony", "sony-1", later))
    proposal, decisions, entries = stored(any_engine)
    assert [(d.decision_id, d.decided_at) for d in decisions] == [("sony-1", later)]
    kinds = [e.kind for e in entries]
    assert kinds.count("decided") == 1 and kinds.index("reminded") < kinds.index("decided")
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    with Session(any_engine) as session:
        versions = session.exec(select(ProposalVersion).where(ProposalVersion.proposal_id == PROPOSAL)).all()
        sent = session.exec(select(OutboxMail).where(OutboxMail.recipient == "sent@example.com")).all()
    assert [v.number for v in versions] == [1]
    assert len(sent) == 1


def test_a_different_step_that_is_not_later_is_refused_and_changes_nothing(activities, any_engine):
    """Sony's decision is stored as step 2; merlin's comes as step 2 with an
    earlier time. A late attempt of a lost task, or the history's own step:
    the time cannot tell, so it is refused, not taken as recorded (the
    workflow then fails its task, whose re-run comes later)."""
    first, other = Run(), Run()
    activities.apply(first.opening)
    activities.apply(first.decide(2, "sony", "sony-1", START + timedelta(hours=1)))
    before = stored(any_engine)
    with pytest.raises(ApplicationError) as refused:
        activities.apply(other.decide(2, "merlin", "merlin-1", START + timedelta(minutes=59)))
    assert refused.value.type == STEP_DIVERGED and refused.value.non_retryable
    assert "step 2" in refused.value.message and "differs from the stored step" in refused.value.message
    proposal, decisions, entries = stored(any_engine)
    assert [d.decision_id for d in decisions] == ["sony-1"]
    assert [(e.seq, e.hash) for e in entries] == [(e.seq, e.hash) for e in before[2]]
    assert proposal.last_step_at == before[0].last_step_at


def test_a_rerun_of_the_first_step_keeps_one_proposal(activities, any_engine):
    lost, rerun = Run(), Run()
    activities.apply(lost.opening)
    again = rerun.opening
    again.at = again.at + timedelta(seconds=10)
    activities.apply(again)
    proposal, decisions, entries = stored(any_engine)
    with Session(any_engine) as session:
        versions = session.exec(select(ProposalVersion).where(ProposalVersion.proposal_id == PROPOSAL)).all()
    assert len(versions) == 1
    assert entries[0].kind == "submitted" and len([e for e in entries if e.kind == "submitted"]) == 1
    assert proposal.last_step_at == again.at
    assert proposal.created_at == again.at  # as the workflow's answers give it (ProposalView)
