"""Delegation: a rep hands their party's decisions to a colleague of the same
party for a period; decisions record both reps; admins reassign; it ends by
itself; every change is on the audit access chain."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from countersign.storage import audit
from countersign.storage.tables import AuditEntry, Decision, Delegation, utcnow
from tests import factories
from tests.security.test_sessions import access_log


@pytest.fixture
def colleagues(engine):
    return [factories.user(engine, "rep", "sony", email=f"colleague{n}.sony@example.com") for n in (1, 2)]


def until(days: float = 7) -> str:
    return (utcnow() + timedelta(days=days)).isoformat()


async def test_a_delegate_decides_and_the_decision_records_both_reps(open_client, token_for, users, colleagues,
                                                                     engine):
    sony, colleague = open_client(token_for(users["sony"].email)), open_client(token_for(colleagues[0].email))
    created = await sony.post("/api/v1/delegations", json={"delegate": colleagues[0].email, "ends_at": until()})
    assert created.status_code == 201, created.text
    assert created.json()["active"] and created.json()["party"] == "sony"
    assert [d["id"] for d in (await colleague.get("/api/v1/delegations")).json()] == [created.json()["id"]]

    lead = open_client(token_for(users["lead"].email))
    proposal = (await lead.post("/api/v1/proposals", json=factories.submission(parties=["sony", "warner"]))).json()
    decided = await colleague.post(f"/api/v1/proposals/{proposal['id']}/decisions",
                                   json={"decision": "approve", "comment": "for Sony, while away",
                                         "on_behalf_of": users["sony"].email})
    assert decided.status_code == 201, decided.text
    with Session(engine) as session:
        decision = session.exec(select(Decision).where(Decision.proposal_id == proposal["id"])).one()
        assert (decision.actor, decision.on_behalf_of) == (colleagues[0].email, "rep.sony@example.com")
        event = session.exec(select(AuditEntry).where(AuditEntry.proposal_id == proposal["id"],
                                                      AuditEntry.kind == "decided")).one()
        assert event.actor == colleagues[0].email and event.detail["on_behalf_of"] == "rep.sony@example.com"
        assert audit.verify_chain(audit.chain(session, proposal["id"])) is None
    made = [e for e in access_log(engine) if e.kind == "delegation_created"]
    assert [(e.actor, e.party, e.detail["delegate"]) for e in made] == [
        ("rep.sony@example.com", "sony", colleagues[0].email)]


async def test_delegation_stays_within_the_label(open_client, token_for, users, colleagues):
    sony = open_client(token_for(users["sony"].email))
    to_warner = await sony.post("/api/v1/delegations", json={"delegate": users["warner"].email, "ends_at": until()})
    assert to_warner.status_code == 422 and "not a rep of sony" in to_warner.json()["detail"]
    to_self = await sony.post("/api/v1/delegations", json={"delegate": users["sony"].email, "ends_at": until()})
    assert to_self.status_code == 422
    past = await sony.post("/api/v1/delegations", json={"delegate": colleagues[0].email, "ends_at": until(-1)})
    assert past.status_code == 422
    lead = open_client(token_for(users["lead"].email))
    assert (await lead.post("/api/v1/delegations", json={"delegate": colleagues[0].email,
                                                         "ends_at": until()})).status_code == 403

    lead_proposal = (await lead.post("/api/v1/proposals", json=factories.submission(parties=["sony"]))).json()
    without = await open_client(token_for(colleagues[1].email)).post(
        f"/api/v1/proposals/{lead_proposal['id']}/decisions",
        json={"decision": "approve", "on_behalf_of": users["sony"].email})
    assert without.status_code == 403 and "no delegation" in without.json()["detail"]


async def test_out_of_office_ends_by_itself_and_the_delegator_can_end_it(open_client, token_for, users,
                                                                         colleagues, engine):
    sony, colleague = open_client(token_for(users["sony"].email)), open_client(token_for(colleagues[0].email))
    first = (await sony.post("/api/v1/delegations", json={"delegate": colleagues[0].email,
                                                          "ends_at": until()})).json()
    with Session(engine) as session:  # its end time passes
        row = session.get(Delegation, first["id"])
        row.starts_at, row.ends_at = utcnow() - timedelta(days=8), utcnow() - timedelta(seconds=1)
        session.add(row)
        session.commit()
    assert not (await sony.get("/api/v1/delegations")).json()[0]["active"]
    lead = open_client(token_for(users["lead"].email))
    proposal = (await lead.post("/api/v1/proposals", json=factories.submission(parties=["sony"]))).json()
    body = {"decision": "approve", "on_behalf_of": users["sony"].email}
    assert (await colleague.post(f"/api/v1/proposals/{proposal['id']}/decisions", json=body)).status_code == 403

    second = (await sony.post("/api/v1/delegations", json={"delegate": colleagues[0].email,
                                                           "ends_at": until()})).json()
    ended = await sony.delete(f"/api/v1/delegations/{second['id']}")
    assert ended.status_code == 200 and not ended.json()["active"] and ended.json()["revoked_by"] == users["sony"].email
    assert (await colleague.post(f"/api/v1/proposals/{proposal['id']}/decisions", json=body)).status_code == 403
    assert (await open_client(token_for(users["warner"].email)).delete(
        f"/api/v1/delegations/{second['id']}")).status_code == 404
    ends = [(e.actor, e.detail["delegation_id"]) for e in access_log(engine) if e.kind == "delegation_ended"]
    assert ends == [(users["sony"].email, str(second["id"]))]


async def test_admins_reassign_a_delegation(open_client, token_for, users, colleagues, engine):
    sony, admin = open_client(token_for(users["sony"].email)), open_client(token_for(users["admin"].email))
    original = (await sony.post("/api/v1/delegations", json={"delegate": colleagues[0].email,
                                                             "ends_at": until(3)})).json()
    assert (await sony.post(f"/api/v1/delegations/{original['id']}/reassign",
                            json={"delegate": colleagues[1].email})).status_code == 403
    moved = await admin.post(f"/api/v1/delegations/{original['id']}/reassign", json={"delegate": colleagues[1].email})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["delegator"], moved.json()["delegate"]) == ("rep.sony@example.com", colleagues[1].email)
    assert moved.json()["ends_at"] == original["ends_at"] and moved.json()["active"]
    listed = {d["id"]: d for d in (await admin.get("/api/v1/delegations")).json()}
    assert not listed[original["id"]]["active"] and listed[moved.json()["id"]]["active"]

    lead = open_client(token_for(users["lead"].email))
    proposal = (await lead.post("/api/v1/proposals", json=factories.submission(parties=["sony"]))).json()
    body = {"decision": "approve", "on_behalf_of": users["sony"].email}
    old = open_client(token_for(colleagues[0].email))
    assert (await old.post(f"/api/v1/proposals/{proposal['id']}/decisions", json=body)).status_code == 403
    new = open_client(token_for(colleagues[1].email))
    assert (await new.post(f"/api/v1/proposals/{proposal['id']}/decisions", json=body)).status_code == 201
    kinds = [e.kind for e in access_log(engine) if e.kind.startswith("delegation_")]
    assert kinds == ["delegation_created", "delegation_created", "delegation_reassigned"]

    for_someone = await admin.post("/api/v1/delegations", json={"delegate": colleagues[0].email, "ends_at": until(),
                                                                "delegator": users["sony"].email})
    assert for_someone.status_code == 201 and for_someone.json()["created_by"] == "admin@example.com"
    assert (await sony.post("/api/v1/delegations", json={"delegate": colleagues[0].email, "ends_at": until(),
                                                         "delegator": colleagues[1].email})).status_code == 403
