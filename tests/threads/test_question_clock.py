"""A stage's clock paused by an open question (policy key pause_while_question_open), end to end on
the time-skipping server: the rep's question through the API signals the workflow once stored, the
deadline holds (no escalation or expiry) while it is open, the lead's answer moves the due date on
by the open span; under a policy without the key the same question leaves the clock running."""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select

from countersign.domain.policy import load_policy
from countersign.domain.reconcile import reconcile
from countersign.storage import audit
from countersign.storage.db import transaction
from countersign.storage.queries import workflow_id
from countersign.storage.tables import AuditEntry, ProposalNumber, utcnow
from tests import factories
from workflows import client as wf
from workflows import history
from workflows.messages import ProposalInput

POLICY = factories.POLICIES / "question_clock.toml"


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"policy": POLICY})


def _kinds(engine, pid: int) -> list[AuditEntry]:
    with Session(engine) as session:
        return session.exec(select(AuditEntry).where(AuditEntry.proposal_id == pid).order_by(AuditEntry.seq)).all()


async def test_an_open_question_holds_the_deadline_and_the_answer_moves_it_on(
        api, browser, engine, temporal_env, task_queue):
    lead, sony = api("lead"), api("sony")
    paused = (await lead.post("/api/v1/proposals", json=factories.submission(parties=["sony", "universal"]))).json()
    approved = await api("universal").post(f"/api/v1/proposals/{paused['id']}/decisions", json={"decision": "approve"})
    assert approved.status_code == 201, approved.text
    # the same proposal under the policy without the key: its clock runs on
    with transaction(engine) as session:
        number = ProposalNumber(allocated_at=utcnow())
        session.add(number)
        session.flush()
        running = number.id
    off = replace(load_policy(POLICY), pause_while_question_open=False)
    await wf.start_proposal(temporal_env.client, task_queue,
                            ProposalInput(running, "lead@example.com", factories.submission(parties=["sony"]), off))
    for pid in (paused["id"], running):
        asked = await sony.post(f"/api/v1/proposals/{pid}/messages", json={"text": "Which stems?", "question": True})
        assert asked.status_code == 201, asked.text

    await temporal_env.sleep(timedelta(seconds=200))  # far past due (60 s) and grace (20 s)
    held = (await lead.get(f"/api/v1/proposals/{paused['id']}")).json()
    assert held["status"] == "in_review" and held["parties"]["sony"]["paused_since"] is not None
    assert held["parties"]["sony"]["due_at"] == paused["parties"]["sony"]["due_at"]
    kinds = [e.kind for e in _kinds(engine, paused["id"])]
    assert "clock_paused" in kinds and "escalated" not in kinds and "reminded" not in kinds
    page = html.unescape((await (await browser("sony")).get(f"/proposals/{paused['id']}")).text)
    assert "clock paused since" in page
    # that sony asked a question is for those who may see its questions to the lead, not another label's reps
    assert (await api("compliance").get(f"/api/v1/proposals/{paused['id']}")).json()[
        "parties"]["sony"]["paused_since"] is not None
    universal = await api("universal").get(f"/api/v1/proposals/{paused['id']}")
    assert universal.json()["parties"]["sony"]["paused_since"] is None
    ran_on = [e.kind for e in _kinds(engine, running)]
    assert "escalated" in ran_on and "clock_paused" not in ran_on
    assert await temporal_env.client.get_workflow_handle(workflow_id(running)).result() == "expired"

    thread = (await lead.get(f"/api/v1/proposals/{paused['id']}/messages")).json()
    answer = await lead.post(f"/api/v1/proposals/{paused['id']}/messages",
                             json={"text": "All of them", "reply_to": thread[0]["id"]})
    assert answer.status_code == 201, answer.text
    await temporal_env.sleep(timedelta(seconds=1))  # the signal is handled before the server's clock moves
    resumed = (await lead.get(f"/api/v1/proposals/{paused['id']}")).json()["parties"]["sony"]
    entries = {e.kind: e for e in _kinds(engine, paused["id"])}
    stopped, restarted = entries["clock_paused"], entries["clock_resumed"]
    span = restarted.at - stopped.at
    assert span >= timedelta(seconds=200) and resumed["paused_since"] is None
    moved = datetime.fromisoformat(resumed["due_at"]) - datetime.fromisoformat(paused["parties"]["sony"]["due_at"])
    assert moved == span and restarted.detail["due_at"] == datetime.fromisoformat(resumed["due_at"]).isoformat()
    await temporal_env.sleep(timedelta(seconds=100))  # the clock runs again: due, grace, expiry
    handle = temporal_env.client.get_workflow_handle(workflow_id(paused["id"]))
    assert await handle.result() == "expired"
    assert "escalated" in [e.kind for e in _kinds(engine, paused["id"])]
    with Session(engine) as session:  # the pause and resume are the workflow's own events, in its history too
        stored, decisions, entries = audit.stored_state(session, paused["id"])
    facts = (await history.load(temporal_env.client, paused["id"])).facts
    assert reconcile(paused["id"], stored, decisions, entries, facts) == []
