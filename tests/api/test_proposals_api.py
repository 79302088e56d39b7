"""The JSON API (API.md) through HTTP, against a real worker and test server."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from api.schemas import VersionOut, proposal_submit
from tests import factories


async def submit(api, **overrides) -> dict:
    response = await api("lead").post("/api/v1/proposals", json=factories.submission(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


async def test_submit_returns_the_stored_proposal(api):
    proposal = await submit(api)
    assert proposal["status"] == "in_review"
    assert proposal["version"] == 1
    assert proposal["workflow_id"] == f"proposal-{proposal['id']}"
    assert proposal["owner"] == "lead@example.com"
    assert set(proposal["parties"]) == set(factories.PARTIES)
    assert all(p["state"] == "pending" and p["due_at"] for p in proposal["parties"].values())


async def test_all_five_labels_approve(api):
    proposal = await submit(api)
    for party in factories.PARTIES:
        response = await api(party).post(f"/api/v1/proposals/{proposal['id']}/decisions",
                                         json={"decision": "approve", "comment": "ok"})
        assert response.status_code == 201, response.text
    final = (await api("compliance").get(f"/api/v1/proposals/{proposal['id']}")).json()
    assert final["status"] == "approved"
    assert final["parties"]["sony"]["decided_by"] == "rep.sony@example.com"


async def test_double_submitted_decision_counts_once(api):
    proposal = await submit(api, parties=["sony", "warner"])
    body = {"decision": "approve", "comment": "fine", "decision_id": str(uuid.uuid4())}
    sony = api("sony")
    first = await sony.post(f"/api/v1/proposals/{proposal['id']}/decisions", json=body)
    second = await sony.post(f"/api/v1/proposals/{proposal['id']}/decisions", json=body)
    assert first.status_code == second.status_code == 201
    assert first.json()["parties"] == second.json()["parties"]
    other = await sony.post(f"/api/v1/proposals/{proposal['id']}/decisions",
                            json={"decision": "reject", "comment": "changed my mind"})
    assert other.status_code == 409
    assert "already decided" in other.json()["detail"]


async def test_a_decision_sent_again_after_it_closed_the_proposal_counts_once(api):
    proposal = await submit(api, parties=["sony"])
    body = {"decision": "approve", "decision_id": str(uuid.uuid4())}
    url = f"/api/v1/proposals/{proposal['id']}/decisions"
    first = await api("sony").post(url, json=body)
    assert first.json()["status"] == "approved"  # the workflow has ended
    again = await api("sony").post(url, json=body)
    assert again.status_code == 201 and again.json() == first.json()
    fresh = await api("sony").post(url, json={"decision": "approve"})
    assert fresh.status_code == 409  # a new decision on a closed proposal is refused


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"checklist": {"agreements": "x"}}, "artist_choice"),
        ({"title": "   "}, "title"),
        ({"parties": ["emi"]}, "unknown parties"),
        ({"launch_scope": "everywhere"}, "launch_scope"),
    ],
)
async def test_submit_refuses_bad_input_with_a_message(api, body, fragment):
    response = await api("lead").post("/api/v1/proposals", json={**factories.submission(), **body})
    assert response.status_code == 422
    assert fragment in response.text


async def test_roles_and_parties(api):
    proposal = await submit(api, parties=["sony"])
    url = f"/api/v1/proposals/{proposal['id']}"
    assert (await api("sony").post("/api/v1/proposals", json=factories.submission())).status_code == 403
    assert (await api("warner").get(url)).status_code == 404  # not its catalog: existence is private
    assert (await api("compliance").post(f"{url}/decisions", json={"decision": "approve"})).status_code == 403
    assert (await api("lead").post(f"{url}/decisions", json={"decision": "approve"})).status_code == 403
    assert (await api("sony").post(f"{url}/decisions", json={"decision": "reject"})).status_code == 422
    assert (await api("compliance").get(url)).status_code == 200
    unauthenticated = await api("sony").get(url, headers={"Authorization": "Bearer nope"})
    assert unauthenticated.status_code == 401


async def test_withdraw_and_inbox(api):
    proposal = await submit(api, parties=["merlin", "believe"])
    inbox = (await api("merlin").get("/api/v1/inbox")).json()
    assert [p["id"] for p in inbox] == [proposal["id"]]
    assert (await api("sony").get("/api/v1/inbox")).json() == []
    response = await api("lead").post(f"/api/v1/proposals/{proposal['id']}/withdraw", json={"reason": "Paused"})
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    assert (await api("merlin").get("/api/v1/inbox")).json() == []
    again = await api("lead").post(f"/api/v1/proposals/{proposal['id']}/withdraw", json={"reason": "Paused"})
    assert again.status_code == 409


async def test_versions_and_list_filters(api):
    proposal = await submit(api, parties=["sony"])
    version = (await api("lead").get(f"/api/v1/proposals/{proposal['id']}/versions/1")).json()
    assert version["content"]["title"] == "AI remix studio"
    assert (await api("lead").get(f"/api/v1/proposals/{proposal['id']}/versions/2")).status_code == 404
    listed = (await api("compliance").get("/api/v1/proposals", params={"party": "sony", "status": "in_review"})).json()
    assert [p["id"] for p in listed] == [proposal["id"]]
    assert (await api("compliance").get("/api/v1/proposals", params={"party": "warner"})).json() == []


def test_a_stored_version_reads_back_once_its_requested_date_has_passed():
    """The submit body refuses a date in the past; a version read back later is not submitted again."""
    content = {**factories.submission(), "requested_decision_date": "2020-01-31"}
    version = VersionOut(proposal_id=1, number=1, submitted_by="lead@example.com",
                         submitted_at=datetime(2020, 1, 1, tzinfo=UTC), content=content)
    assert version.content.requested_decision_date == date(2020, 1, 31)
    with pytest.raises(ValidationError, match="today or later"):
        proposal_submit(factories.policy()).model_validate(content)
