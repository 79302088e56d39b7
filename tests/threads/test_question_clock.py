"""A stage's clock paused by an open question (policy key pause_while_question_open), end to end on
the time-skipping server: the rep's question through the API signals the workflow once stored, the
deadline holds (no escalation or expiry) while it is open, the lead's answer moves the due date on
by the open span; under a policy without the key the same question leaves the clock running. A
question asked while Temporal could not be reached is told by the worker's minute sweep."""

from __future__ import annotations

import html
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select
from temporalio.client import Client

from api.app import create_app

from countersign.domain.policy import load_policy
from countersign.domain.reconcile import reconcile
from countersign.storage import audit
from countersign.storage.accounts import create_token
from countersign.storage.db import transaction
from countersign.storage.message_tables import QuestionTold
from countersign.storage.queries import workflow_id
from countersign.storage.tables import AuditEntry, ProposalNumber, utcnow
from tests import factories
from tests.ports import free_port
from tests.web_client import app_clients
from workflows import client as wf
from workflows import history
from workflows.messages import ProposalInput
from workflows.webhook_sweep import SweepInput, WebhookSweepWorkflow

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


def _told(engine) -> set[int]:
    with Session(engine) as session:
        return set(session.exec(select(QuestionTold.message_id)))


async def _sweep(temporal_env, task_queue) -> int:
    """One run of the worker's minute sweep, as its Schedule starts it; the questions it told."""
    result = await temporal_env.client.execute_workflow(WebhookSweepWorkflow.run, SweepInput(),
                                                        id=f"sweep-{uuid.uuid4().hex[:8]}", task_queue=task_queue)
    return result.told


async def test_a_question_asked_while_temporal_is_unreachable_is_told_by_the_sweep(
        api, engine, settings, users, temporal_env, task_queue):
    lead = api("lead")
    proposal = (await lead.post("/api/v1/proposals", json=factories.submission(parties=["sony", "universal"]))).json()
    url = f"/api/v1/proposals/{proposal['id']}"
    # The same web app, whose Temporal cannot be reached: nothing listens at that address.
    cut_off = await Client.connect(f"127.0.0.1:{free_port()}", lazy=True)
    with transaction(engine) as session:
        token = create_token(session, users["sony"].email)
    app = create_app(settings, temporal=cut_off, engine=engine)
    async with app.router.lifespan_context(app), app_clients(app) as client:
        asked = await client(token).post(f"{url}/messages", json={"text": "Which stems?", "question": True})
    assert asked.status_code == 201, asked.text  # stored all the same
    assert _told(engine) == set()
    assert (await lead.get(url)).json()["parties"]["sony"]["paused_since"] is None  # not told: the clock runs

    # Another question, through the app that reaches Temporal: told at once, and marked so.
    told_now = await api("universal").post(f"{url}/messages", json={"text": "Which markets?", "question": True})
    assert _told(engine) == {told_now.json()["id"]}

    assert await _sweep(temporal_env, task_queue) == 1  # the one Temporal missed, and only it
    await temporal_env.sleep(timedelta(seconds=1))  # the signal is handled before the server's clock moves
    assert _told(engine) == {asked.json()["id"], told_now.json()["id"]}
    held = (await lead.get(url)).json()["parties"]
    assert held["sony"]["paused_since"] is not None and held["universal"]["paused_since"] is not None
    assert [e.kind for e in _kinds(engine, proposal["id"])].count("clock_paused") == 2
    assert await _sweep(temporal_env, task_queue) == 0  # told once
