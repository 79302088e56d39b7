"""The routing policy's paths on the time-skipping server: timing as well as outcome."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from sqlmodel import Session, select

from countersign.domain import errors
from countersign.storage.tables import AuditEntry, OutboxMail, Proposal, ProposalVersion
from tests import factories
from workflows import client as wf
from workflows.messages import AcknowledgeRequest, DecisionRequest, ProposalInput, ResubmitRequest
from workflows.worker import build_worker

LEAD = "lead@example.com"


@pytest.fixture
def people(engine):
    return factories.all_users(engine)


async def start(env, engine, task_queue, policy, parties=factories.PARTIES) -> int:
    with Session(engine) as session:
        from countersign.storage.tables import ProposalNumber, utcnow

        number = ProposalNumber(allocated_at=utcnow())
        session.add(number)
        session.commit()
        proposal_id = number.id
    body = factories.submission(parties=list(parties))
    await wf.start_proposal(env.client, task_queue, ProposalInput(proposal_id, LEAD, body, policy))
    return proposal_id


async def decide(env, pid, party, verdict="approve", comment="", version=1):
    request = DecisionRequest(party, verdict, comment, version, f"rep.{party}@example.com")
    return await wf.decide(env.client, pid, request, str(uuid.uuid4()))


def events(engine, pid, kind=None) -> list[AuditEntry]:
    with Session(engine) as session:
        query = select(AuditEntry).where(AuditEntry.proposal_id == pid).order_by(AuditEntry.seq)
        rows = session.exec(query).all()
    return [row for row in rows if kind is None or row.kind == kind]


def status(engine, pid) -> str:
    with Session(engine) as session:
        return session.get(Proposal, pid).status


def business_days_between(start: date, end: date, country: str) -> int:
    """Working days after `start` up to and including `end`, counted independently of the core."""
    calendar = holidays.country_holidays(country, years=range(start.year, end.year + 1))
    days, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in calendar:
            days += 1
    return days


async def test_reminders_escalation_and_expiry_follow_each_labels_calendar(temporal_env, engine, task_queue, people):
    policy = factories.policy()  # one stage: 10 business days, reminders 3 and 1 before, grace 2, escalate
    async with build_worker(temporal_env.client, engine, task_queue, policy):
        pid = await start(temporal_env, engine, task_queue, policy, parties=["sony", "believe"])
        await decide(temporal_env, pid, "sony")
        opened = events(engine, pid, "routed")[0].at

        await temporal_env.sleep(timedelta(days=30))  # well past due and grace

        reminders = events(engine, pid, "reminded")
        assert [r.party for r in reminders] == ["believe", "believe"]  # sony decided: no reminder
        paris = ZoneInfo("Europe/Paris")
        start_day = opened.astimezone(paris).date()
        first, second = (r.at.astimezone(paris) for r in reminders)
        # Due in 10 business days: the reminders go out 7 and 9 business days in, at 09:00 Paris time.
        assert business_days_between(start_day, first.date(), "FR") == 7
        assert business_days_between(start_day, second.date(), "FR") == 9
        assert (first.hour, first.minute) == (9, 0)

        escalated = events(engine, pid, "escalated")
        assert [e.party for e in escalated] == ["believe"]
        due = escalated[0].at.astimezone(paris)
        assert business_days_between(start_day, due.date(), "FR") == 10 and due.hour == 23

        expired = events(engine, pid, "expired")[0].at.astimezone(paris)
        assert business_days_between(due.date(), expired.date(), "FR") == 2
        assert status(engine, pid) == "expired"

        with Session(engine) as session:
            mail = session.exec(select(OutboxMail).where(OutboxMail.proposal_id == pid)).all()
        kinds = {(m.kind, m.recipient) for m in mail}
        assert ("reminded", "rep.believe@example.com") in kinds
        assert ("escalated", "escalations@believe.example") in kinds
        assert ("escalated", "compliance@example.com") in kinds
        assert ("concluded", LEAD) in kinds
        assert not any(m.kind == "reminded" and m.recipient == "rep.sony@example.com" for m in mail)


async def test_three_stages_in_order(temporal_env, engine, task_queue, people):
    policy = factories.policy(
        {"name": "Rights", "due": "10 business days"},
        {"name": "Legal", "due": "5 business days"},
        {"name": "Executive", "due": "3 business days"},
    )
    async with build_worker(temporal_env.client, engine, task_queue, policy):
        pid = await start(temporal_env, engine, task_queue, policy, parties=["sony", "merlin"])
        for stage in ("Rights", "Legal", "Executive"):
            with Session(engine) as session:
                assert session.get(Proposal, pid).stage == stage
            await decide(temporal_env, pid, "sony")
            result = await decide(temporal_env, pid, "merlin")
        assert result.status == "approved"
        assert [e.detail["stage"] for e in events(engine, pid, "routed")] == ["Rights", "Legal", "Executive"]


async def test_changes_requested_then_resubmitted(temporal_env, engine, task_queue, people):
    policy = factories.policy()
    async with build_worker(temporal_env.client, engine, task_queue, policy):
        pid = await start(temporal_env, engine, task_queue, policy, parties=["sony", "warner", "merlin"])
        await decide(temporal_env, pid, "sony")
        result = await decide(temporal_env, pid, "warner", "request_changes", "Name the licence.")
        assert result.status == "changes_requested"
        with pytest.raises(errors.NotPendingParty, match="resume when the lead submits version 2"):
            await decide(temporal_env, pid, "merlin")

        await temporal_env.sleep(timedelta(days=60))  # deadlines pause while the lead edits
        assert status(engine, pid) == "changes_requested"

        body = factories.submission(parties=["sony", "warner", "merlin"], title="AI remix studio v2")
        result = await wf.resubmit(temporal_env.client, pid, ResubmitRequest(LEAD, body))
        assert (result.status, result.version) == ("in_review", 2)
        with pytest.raises(errors.StaleVersion):
            await decide(temporal_env, pid, "warner", version=1)
        with pytest.raises(errors.NotPendingParty, match="already decided"):
            await decide(temporal_env, pid, "sony", version=2)  # its approval stands
        await decide(temporal_env, pid, "warner", version=2)
        result = await decide(temporal_env, pid, "merlin", version=2)
        assert result.status == "approved"
        with Session(engine) as session:
            versions = session.exec(select(ProposalVersion).where(ProposalVersion.proposal_id == pid)).all()
            assert sorted(v.number for v in versions) == [1, 2]
            assert session.get(Proposal, pid).title == "AI remix studio v2"


async def test_conditions_must_be_acknowledged(temporal_env, engine, task_queue, people):
    policy = factories.policy()
    async with build_worker(temporal_env.client, engine, task_queue, policy):
        pid = await start(temporal_env, engine, task_queue, policy, parties=["sony", "believe"])
        await decide(temporal_env, pid, "sony", "approve_with_conditions", "Credit the producers.")
        result = await decide(temporal_env, pid, "believe")
        assert result.status == "in_review"  # approved in substance, waiting on the lead
        result = await wf.acknowledge(temporal_env.client, pid, AcknowledgeRequest(LEAD))
        assert result.status == "approved"
        with pytest.raises(errors.ProposalClosed):
            await wf.acknowledge(temporal_env.client, pid, AcknowledgeRequest(LEAD))


async def test_partial_approval_scoped_to_approving_labels(temporal_env, engine, task_queue, people):
    policy = factories.policy({"name": "Rights", "due": "10 business days"},
                              {"name": "Legal", "due": "5 business days"}, allow_partial=True)
    async with build_worker(temporal_env.client, engine, task_queue, policy):
        pid = await start(temporal_env, engine, task_queue, policy, parties=["sony", "universal", "merlin"])
        await decide(temporal_env, pid, "universal", "reject", "Not for our catalog.")
        await decide(temporal_env, pid, "sony")
        await decide(temporal_env, pid, "merlin")
        with pytest.raises(errors.NotPendingParty, match="out of this review"):
            await decide(temporal_env, pid, "universal")  # dropped out of Legal
        await decide(temporal_env, pid, "sony")
        result = await decide(temporal_env, pid, "merlin")
        assert result.status == "approved_partial"
        with Session(engine) as session:
            assert session.get(Proposal, pid).outcome_scope == ["sony", "merlin"]


async def test_seconds_policy_expires_a_silent_label_only(temporal_env, engine, task_queue, people):
    policy = factories.policy(
        {"name": "Quick", "due": "45s", "reminders": ["30s"], "grace": "15s", "on_overdue": "expire"},
        allow_partial=True,
    )
    async with build_worker(temporal_env.client, engine, task_queue, policy):
        pid = await start(temporal_env, engine, task_queue, policy, parties=["sony", "merlin"])
        await decide(temporal_env, pid, "sony")
        opened = events(engine, pid, "routed")[0].at
        await temporal_env.sleep(timedelta(minutes=5))
        reminded = events(engine, pid, "reminded")
        assert [r.party for r in reminded] == ["merlin"]
        assert abs((reminded[0].at - opened).total_seconds() - 15) < 2
        expired = events(engine, pid, "expired")
        assert [e.party for e in expired] == ["merlin"]
        assert abs((expired[0].at - opened).total_seconds() - 60) < 2
        assert status(engine, pid) == "approved_partial"
