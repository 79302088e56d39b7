"""Decisions as signatures (docs/signatures.md): re-authentication at the
decision form and through the API, the token's decide scope, the policy's
`reauthenticate`, and the signature's manifestation wherever a decision shows."""

from __future__ import annotations

import dataclasses
import json
import re

import httpx
import pytest
from sqlmodel import Session, select

from countersign.storage import throttle
from countersign.storage.accounts import create_token
from countersign.storage.db import transaction
from countersign.storage.tables import ApiToken, AuditEntry, Decision, ExternalIdentity, utcnow
from tests import factories
from tests.web_client import csrf_of


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden field {name}"
    return match.group(1)


async def submit(api, parties=("sony",)) -> dict:
    response = await api("lead").post("/api/v1/proposals", json=factories.submission(parties=list(parties)))
    assert response.status_code == 201, response.text
    return response.json()


def failed_reauthentications(engine, email: str) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.proposal_id.is_(None),
                                                          AuditEntry.kind == "reauthentication_failed",
                                                          AuditEntry.actor == email)))


async def test_the_decision_form_asks_for_the_password_and_the_signature_shows(api, browser, engine, users):
    proposal = await submit(api)
    pid = proposal["id"]
    sony = await browser("sony")
    url = f"/proposals/{pid}/decide"
    form = await sony.get(url)
    assert 'type="password"' in form.text and 'name="password"' in form.text
    fields = {"decision": "approve_with_conditions", "comment": "Credit the artists", "version": "1",
              "decision_id": hidden(form.text, "decision_id")}

    wrong = await sony.post(url, {**fields, "password": "not my password"}, token=csrf_of(form.text))
    assert wrong.status_code == 403
    assert 'id="f-password-error"' in wrong.text and "not your password" in wrong.text
    assert "Credit the artists" in wrong.text  # the rest of the form is kept
    missing = await sony.post(url, fields, token=csrf_of(form.text))
    assert missing.status_code == 403 and "enter your password" in missing.text.lower()
    with Session(engine) as session:
        assert throttle.failures(session, users["sony"].email, utcnow()) == 2  # counts towards sign-in's limit
        assert not session.exec(select(Decision).where(Decision.proposal_id == pid)).all()
    entries = failed_reauthentications(engine, users["sony"].email)
    assert [(e.party, e.detail["proposal_id"], e.detail["reason"]) for e in entries] == [
        ("sony", str(pid), "bad_password"), ("sony", str(pid), "missing_password")]

    signed = await sony.post(url, {**fields, "password": factories.PASSWORD}, token=csrf_of(form.text))
    assert signed.status_code == 303, signed.text
    with Session(engine) as session:
        decision = session.exec(select(Decision).where(Decision.proposal_id == pid)).one()
    assert decision.reauthenticated == "password"
    meaning = f"Approved with conditions, for Sony Music Group, {proposal['stage']}, version 1"
    assert decision.signature["meaning"] == meaning
    assert decision.signature["name"] == users["sony"].name and decision.signature["role"] == "Label representative"
    assert decision.signature["zone"] == "America/New_York" and decision.signature["at"].endswith(("-05:00", "-04:00"))

    # The proposal's JSON answer, the proposal page and the audit trail carry it.
    answer = (await api("lead").get(f"/api/v1/proposals/{pid}")).json()
    assert answer["parties"]["sony"]["signature"] == {
        "name": users["sony"].name, "role": "Label representative", "party": "Sony Music Group",
        "at": decision.signature["at"], "meaning": meaning}
    page = await sony.get(f"/proposals/{pid}")
    assert meaning in page.text and "America/New_York" in page.text
    trail = (await api("compliance").get(f"/api/v1/proposals/{pid}/audit")).json()
    decided = [e for e in trail["entries"] if e["kind"] == "decided"]
    assert [e["signature"]["meaning"] for e in decided] == [meaning]
    assert all(e["signature"] is None for e in trail["entries"] if e["kind"] != "decided")
    compliance = await browser("compliance")
    timeline = await compliance.get(f"/compliance/proposals/{pid}")
    assert meaning in timeline.text
    export = await compliance.get(f"/compliance/export.jsonl?proposal={pid}")
    records = [json.loads(line) for line in export.text.splitlines()]
    assert [r["signature"]["meaning"] for r in records if r.get("kind") == "decided"] == [meaning]


async def test_too_many_wrong_passwords_at_a_decision_are_throttled(api, browser, engine, users):
    proposal = await submit(api, parties=("merlin",))
    merlin = await browser("merlin")
    url = f"/proposals/{proposal['id']}/decide"
    form = await merlin.get(url)
    with transaction(engine) as session:  # four failures already, from this address (httpx's ASGI client's)
        for _ in range(throttle.MAX_PER_ACCOUNT - 1):
            throttle.record_failure(session, users["merlin"].email, "127.0.0.1", utcnow())
    fields = {"decision": "approve", "version": "1", "decision_id": hidden(form.text, "decision_id")}
    fifth = await merlin.post(url, {**fields, "password": "wrong again"}, token=csrf_of(form.text))
    assert fifth.status_code == 403
    right_but_late = await merlin.post(url, {**fields, "password": factories.PASSWORD}, token=csrf_of(form.text))
    assert right_but_late.status_code == 429 and "Too many failed sign-ins" in right_but_late.text
    with Session(engine) as session:
        assert not session.exec(select(Decision).where(Decision.proposal_id == proposal["id"])).all()
    assert [e.detail["reason"] for e in failed_reauthentications(engine, users["merlin"].email)] == [
        "bad_password", "throttled"]
    # the sign-in form is held back as well: one limit for both
    again = await (await browser()).login(users["merlin"].email)
    assert again.status_code == 429


async def test_api_decisions_need_a_token_with_the_decide_scope(app, api, engine, users):
    proposal = await submit(api)
    with transaction(engine) as session:
        plain = create_token(session, users["sony"].email)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                               headers={"Authorization": f"Bearer {plain}"})
    async with client:
        refused = await client.post(f"/api/v1/proposals/{proposal['id']}/decisions", json={"decision": "approve"})
        assert refused.status_code == 403 and "decide scope" in refused.json()["detail"]
        assert (await client.get(f"/api/v1/proposals/{proposal['id']}")).status_code == 200  # it still reads
        created = await client.post("/api/v1/tokens", json={"name": "signing bot", "scopes": ["decide"]})
        assert created.status_code == 201 and created.json()["scopes"] == ["decide"]
        listed = (await client.get("/api/v1/tokens")).json()
        assert sorted(t["scopes"] for t in listed) == [[], ["decide"]]
    lead_scope = await api("lead").post("/api/v1/tokens", json={"scopes": ["decide"]})
    assert lead_scope.status_code == 422 and "only a label rep decides" in lead_scope.json()["detail"]
    decided = await api("sony").post(f"/api/v1/proposals/{proposal['id']}/decisions", json={"decision": "approve"})
    assert decided.status_code == 201, decided.text
    assert decided.json()["parties"]["sony"]["signature"]["meaning"].startswith("Approved, for Sony Music Group")
    with Session(engine) as session:
        assert session.exec(select(Decision.reauthenticated).where(Decision.proposal_id == proposal["id"])).one() \
            == "token"


@pytest.fixture
def reauthenticate(app):
    """Run the app under the policy with `reauthenticate` set as given."""
    shipped = app.state.policy

    def use(mode: str) -> None:
        app.state.policy = dataclasses.replace(shipped, reauthenticate=mode)

    yield use
    app.state.policy = shipped


async def test_the_policy_can_ask_for_the_password_or_the_web_form(api, engine, users, reauthenticate):
    proposal = await submit(api, parties=("sony", "warner"))
    url = f"/api/v1/proposals/{proposal['id']}/decisions"

    reauthenticate("web")
    refused = await api("sony").post(url, json={"decision": "approve", "password": factories.PASSWORD})
    assert refused.status_code == 403 and "web form" in refused.json()["detail"]

    reauthenticate("password")
    missing = await api("sony").post(url, json={"decision": "approve"})
    assert missing.status_code == 403 and '"password"' in missing.json()["detail"]
    wrong = await api("sony").post(url, json={"decision": "approve", "password": "guess"})
    assert wrong.status_code == 403
    assert [e.detail["via"] for e in failed_reauthentications(engine, users["sony"].email)] == ["api"]
    signed = await api("sony").post(url, json={"decision": "approve", "password": factories.PASSWORD})
    assert signed.status_code == 201, signed.text
    with Session(engine) as session:
        assert session.exec(select(Decision.reauthenticated).where(Decision.proposal_id == proposal["id"])).all() \
            == ["token+password"]


async def test_the_tokens_page_offers_the_decide_scope_to_reps_only(browser, engine, users):
    sony = await browser("sony")
    page = await sony.get("/tokens")
    assert 'name="scopes" value="decide"' in page.text
    created = await sony.post("/tokens", {"name": "bot", "scopes": "decide"}, token=csrf_of(page.text))
    assert created.status_code == 200 and "may decide" in created.text
    lead = await browser("lead")
    assert 'value="decide"' not in (await lead.get("/tokens")).text
    with Session(engine) as session:
        rows = session.exec(select(ApiToken).where(ApiToken.user_id == users["sony"].id)).all()
    assert [(row.name, row.scopes) for row in rows] == [("bot", ["decide"])]


async def test_a_single_sign_on_account_signs_in_again_at_its_provider_to_decide(api, browser, engine, users):
    """Its password is known to no one: the form sends it to its provider for a sign-in no older than five
    minutes (api.routes.sso's /login/oidc/reauth, max_age=300); until then a decision is refused."""
    with transaction(engine) as session:
        session.add(ExternalIdentity(user_id=users["warner"].id, organisation="warner",
                                     issuer="https://id.warner.example", subject="w-1"))
    proposal = await submit(api, parties=("warner",))
    warner = await browser("warner")  # signed in with a password here; a provider sign-in is not recent
    url = f"/proposals/{proposal['id']}/decide"
    form = await warner.get(url)
    assert f'href="/login/oidc/reauth?next=/proposals/{proposal["id"]}/decide"' in form.text
    assert 'name="password"' not in form.text
    refused = await warner.post(url, {"decision": "approve", "version": "1", "password": factories.PASSWORD,
                                      "decision_id": hidden(form.text, "decision_id")}, token=csrf_of(form.text))
    assert refused.status_code == 403 and "sign in again at your organisation" in refused.text.lower()
    with Session(engine) as session:
        assert not session.exec(select(Decision).where(Decision.proposal_id == proposal["id"])).all()
