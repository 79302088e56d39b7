"""The command endpoints answer with the proposal as their change stored it:
the update returns once its step is stored, and the API reads the proposal
back, so each answer equals a read of the proposal right after it. A
decision sent again counts once, open or closed."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import Session, select

from countersign.domain import errors
from countersign.storage.tables import Decision
from tests import factories
from workflows import client as wf

# allow_partial; Rights: all must approve, Legal: any two, Executive: any one
QUORUM_PARTIAL = factories.POLICIES / "quorum_partial.toml"


@pytest.fixture
def engine(any_engine):
    """These run on SQLite and on PostgreSQL: both must store what the workflow answers."""
    return any_engine


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"policy": QUORUM_PARTIAL})


def decision_ids(engine, proposal_id: int) -> list[str]:
    with Session(engine) as session:
        return list(session.exec(select(Decision.decision_id).where(Decision.proposal_id == proposal_id)))


class Proposal:
    """One proposal driven through the API; every command's answer is checked against a read after it."""

    def __init__(self, api) -> None:
        self.api = api
        self.url = "/api/v1/proposals"

    async def command(self, who: str, path: str, body: dict | None = None, status: int = 200) -> dict:
        response = await self.api(who).post(self.url + path, json=body)
        assert response.status_code == status, response.text
        answer = response.json()
        self.url = f"/api/v1/proposals/{answer['id']}"
        read = await self.api("compliance").get(self.url)
        assert read.status_code == 200, read.text
        assert answer == read.json()
        return answer

    async def decide(self, party: str, decision: str = "approve", comment: str = "", **extra) -> dict:
        return await self.command(party, "/decisions", {"decision": decision, "comment": comment, **extra}, 201)


async def test_every_command_answers_what_a_read_after_it_shows(api):
    proposal = Proposal(api)
    submitted = await proposal.command("lead", "", factories.submission(parties=["sony", "warner", "merlin"]), 201)
    assert submitted["stage"] == "Rights" and set(submitted["parties"]) == {"sony", "warner", "merlin"}
    await proposal.decide("sony", "approve_with_conditions", "Credit the original artists.")
    await proposal.decide("merlin", "reject", "Not for our catalog.")
    advanced = await proposal.decide("warner")
    assert advanced["stage"] == "Legal"
    assert [(p, v["state"]) for p, v in advanced["parties"].items()] == [
        ("sony", "pending"), ("warner", "pending"), ("merlin", "dropped")]
    assert advanced["conditions"][0]["text"] == "Credit the original artists."

    returned = await proposal.decide("warner", "request_changes", "Name the stems you use.")
    assert returned["status"] == "changes_requested"
    changed = factories.submission(title="AI remix studio, stems named", parties=["sony", "warner", "merlin"])
    resubmitted = await proposal.command("lead", "/resubmit", changed)
    assert (resubmitted["title"], resubmitted["version"], resubmitted["status"]) == (
        "AI remix studio, stems named", 2, "in_review")
    assert resubmitted["created_at"] == submitted["created_at"] < resubmitted["updated_at"]

    await proposal.decide("sony", version=2)
    assert (await proposal.decide("warner", version=2))["stage"] == "Executive"
    waiting = await proposal.decide("sony", version=2)
    assert waiting["status"] == "in_review"  # approved in substance; the lead must acknowledge the condition
    done = await proposal.command("lead", "/acknowledge")
    assert (done["status"], done["outcome_scope"]) == ("approved_partial", ["sony", "warner"])
    assert done["conditions"][0]["acknowledged"] is True

    other = Proposal(api)
    await other.command("lead", "", factories.submission(parties=["believe"]), 201)
    withdrawn = await other.command("lead", "/withdraw", {"reason": "Paused"})
    assert withdrawn["status"] == "withdrawn"


async def test_a_decision_sent_again_after_its_proposal_closed_answers_as_the_first(api, engine, monkeypatch):
    proposal = Proposal(api)
    await proposal.command("lead", "", factories.submission(parties=["sony"]), 201)
    decision_id = str(uuid.uuid4())
    first = await proposal.decide("sony", "reject", "Not for our catalog.", decision_id=decision_id)
    assert first["status"] == "rejected"

    async def closed(*args, **kwargs):
        raise errors.ProposalClosed("this proposal has concluded; it can no longer change")

    # As Temporal answers once it no longer holds the run (past its retention); until then it
    # returns the first outcome, the test server and the dev server alike.
    monkeypatch.setattr(wf, "decide", closed)
    again = await proposal.decide("sony", "reject", "Not for our catalog.", decision_id=decision_id)
    assert again == first
    assert decision_ids(engine, first["id"]) == [decision_id]


async def test_a_decision_sent_again_while_open_counts_once(api, engine):
    """Temporal applies a repeated update id once; the retry answers with the
    proposal as it is when it returns, here with a decision taken in between."""
    proposal = Proposal(api)
    submitted = await proposal.command("lead", "", factories.submission(parties=["sony", "warner", "merlin"]), 201)
    decision_id = str(uuid.uuid4())
    first = await proposal.decide("sony", decision_id=decision_id)
    assert first["parties"]["sony"]["state"] == "approved" and first["parties"]["warner"]["state"] == "pending"
    await proposal.decide("warner")
    again = await proposal.decide("sony", decision_id=decision_id)
    assert [(p, v["state"]) for p, v in again["parties"].items()] == [
        ("sony", "approved"), ("warner", "approved"), ("merlin", "pending")]
    assert again["parties"]["sony"] == first["parties"]["sony"]
    ids = decision_ids(engine, submitted["id"])
    assert len(ids) == 2 and ids.count(decision_id) == 1  # sony's once, and warner's
