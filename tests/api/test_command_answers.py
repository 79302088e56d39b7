"""The command endpoints answer with the proposal as the workflow's update
stored it (`UpdateResult.view`), not by reading it back: each answer equals
a read of the proposal right after it. An outcome without a view (recorded
before updates carried one) and a decision sent again after its proposal
closed are read back, and answer the same."""

from __future__ import annotations

import uuid

import pytest
import pytest_asyncio
from temporalio.converter import DataConverter

from api.routes import proposals as routes
from countersign.domain import errors
from countersign.domain.policy import load_policy
from tests import factories
from workflows import client as wf
from workflows.messages import UpdateResult
from workflows.worker import build_worker

# allow_partial; Rights: all must approve, Legal: any two, Executive: any one
QUORUM_PARTIAL = factories.POLICIES / "quorum_partial.toml"
COMMANDS = ("start_proposal", "decide", "resubmit", "withdraw", "acknowledge")


@pytest.fixture
def engine(any_engine):
    """These run on SQLite and on PostgreSQL: both must store what the workflow answers."""
    return any_engine


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"policy": QUORUM_PARTIAL})


@pytest_asyncio.fixture
async def worker(temporal_env, engine, task_queue):
    """With the policy's holiday calendars loaded (GB-ENG is not the default's)."""
    async with build_worker(temporal_env.client, engine, task_queue, load_policy(QUORUM_PARTIAL)) as running:
        yield running


@pytest.fixture
def read_backs(monkeypatch) -> list[int]:
    """The proposals the command routes read back, in order."""
    calls = []
    read_back = routes._read_back

    def counted(session, user, proposal_id):
        calls.append(proposal_id)
        return read_back(session, user, proposal_id)

    monkeypatch.setattr(routes, "_read_back", counted)
    return calls


def outcome_without_view(call):
    """`call` answering as a workflow did before outcomes carried a view: the same outcome, encoded
    without it and decoded as the client decodes an old one."""
    async def old(*args, **kwargs):
        result = await call(*args, **kwargs)
        payloads = DataConverter.default.payload_converter.to_payloads([{"status": result.status, "version": result.version}])
        return DataConverter.default.payload_converter.from_payloads(payloads, [UpdateResult])[0]
    return old


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


@pytest.mark.parametrize("answered_by", ["view", "read back"])
async def test_every_command_answers_what_a_read_after_it_shows(api, monkeypatch, read_backs, answered_by):
    if answered_by == "read back":
        for name in COMMANDS:
            monkeypatch.setattr(wf, name, outcome_without_view(getattr(wf, name)))

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

    assert len(read_backs) == (0 if answered_by == "view" else 12)  # 12 commands above


async def test_a_decision_sent_again_after_its_proposal_closed_is_read_back(api, monkeypatch, read_backs):
    proposal = Proposal(api)
    await proposal.command("lead", "", factories.submission(parties=["sony"]), 201)
    decision_id = str(uuid.uuid4())
    first = await proposal.decide("sony", "reject", "Not for our catalog.", decision_id=decision_id)
    assert first["status"] == "rejected" and read_backs == []

    async def closed(*args, **kwargs):
        raise errors.ProposalClosed("this proposal has concluded; it can no longer change")

    # As Temporal answers once it no longer holds the run (past its retention); until then it
    # returns the first outcome, the test server and the dev server alike.
    monkeypatch.setattr(wf, "decide", closed)
    again = await proposal.decide("sony", "reject", "Not for our catalog.", decision_id=decision_id)
    assert again == first
    assert len(read_backs) == 1


async def test_a_decision_sent_again_while_open_answers_as_it_did_the_first_time(api, read_backs):
    """Temporal answers a repeated update id with its first outcome: the
    proposal as that decision stored it, not as it is now (API.md: "answers
    the same both times")."""
    proposal = Proposal(api)
    await proposal.command("lead", "", factories.submission(parties=["sony", "warner", "merlin"]), 201)
    decision_id = str(uuid.uuid4())
    first = await proposal.decide("sony", decision_id=decision_id)
    assert (await proposal.decide("warner"))["parties"]["warner"]["state"] == "approved"
    again = await api("sony").post(f"{proposal.url}/decisions", json={"decision": "approve", "decision_id": decision_id})
    assert again.status_code == 201 and again.json() == first
    assert again.json()["parties"]["warner"]["state"] == "pending"
    assert read_backs == []
