"""Parties come from the policy alone: three labels that are not the shipped
five (tests/policies/three_labels.toml) run end to end, on the real test
server and worker: submit, decide, the pages, the OpenAPI schema, the
certificate and the demo accounts."""

from __future__ import annotations

import html

import pytest
from sqlmodel import select

from api import cli
from countersign.domain.policy import load_policy
from countersign.storage import accounts
from countersign.storage.db import transaction
from countersign.storage.tables import User
from tests import factories
from tests.web_client import csrf_of

THREE = load_policy(factories.THREE_LABELS)
NAMES = {"kobalt": "Kobalt Music", "bmg": "BMG Rights Management", "concord": "Concord"}
SHIPPED_NAMES = ("Sony Music Group", "Universal Music Group", "Warner Music Group", "Merlin", "Believe")


# The conftest's fixtures, under the three labels' policy: the worker, the app
# (through its settings) and the users.
@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"policy": factories.THREE_LABELS})


@pytest.fixture
def users(engine):
    return factories.all_users(engine, THREE)


def body(**overrides) -> dict:
    """A submit body that leaves the parties out: all of the policy's, by default."""
    submission = factories.submission(THREE, **overrides)
    del submission["parties"]
    return submission


def page_text(response) -> str:
    assert response.status_code == 200, response.text
    return html.unescape(response.text)


def assert_no_shipped_label(text: str) -> None:
    assert not [name for name in SHIPPED_NAMES if name in text]


async def test_three_other_labels_submit_decide_and_conclude(api, browser, users):
    submitted = await api("lead").post("/api/v1/proposals", json=body(title="Three labels"))
    assert submitted.status_code == 201, submitted.text
    proposal = submitted.json()
    pid = proposal["id"]
    assert list(proposal["parties"]) == ["kobalt", "bmg", "concord"]  # all of them, in the policy's order
    assert {p["state"] for p in proposal["parties"].values()} == {"pending"}

    # Before anyone decides: a rep's inbox and decision form, in the label's own name and time zone.
    kobalt = await browser("kobalt")
    inbox = page_text(await kobalt.get("/inbox"))
    assert "What waits on Kobalt Music" in inbox and "Europe/Stockholm" in inbox
    assert f'href="/proposals/{pid}/decide"' in inbox
    form = await kobalt.get(f"/proposals/{pid}/decide")
    assert "Decide for Kobalt Music" in page_text(form)
    decision = {"decision": "approve", "comment": "Fine by Kobalt", "version": "1", "password": factories.PASSWORD}
    decided = await kobalt.post(f"/proposals/{pid}/decide", decision, token=csrf_of(form.text))
    assert decided.status_code == 303, decided.text
    assert "Your decision for Kobalt Music was recorded" in page_text(await kobalt.get(f"/proposals/{pid}"))

    for party in ("bmg", "concord"):
        response = await api(party).post(f"/api/v1/proposals/{pid}/decisions", json={"decision": "approve"})
        assert response.status_code == 201, response.text
    final = (await api("compliance").get(f"/api/v1/proposals/{pid}")).json()
    assert final["status"] == "approved"
    assert {party: p["decided_by"] for party, p in final["parties"].items()} == {
        party: f"rep.{party}@example.com" for party in NAMES
    }

    # The pages name the three labels, and none of the shipped five.
    lead = await browser("lead")
    dashboard = page_text(await lead.get("/"))
    assert "Three labels" in dashboard
    matrix_head = "".join(f'<th scope="col">{short}</th>' for short in ("Kobalt", "BMG", "Concord"))
    assert f'<th scope="col">Stage</th>{matrix_head}</tr>' in dashboard  # the stage matrix's columns
    detail = page_text(await lead.get(f"/proposals/{pid}"))
    assert "Kobalt Music, BMG Rights Management, Concord" in detail  # the catalogs it touches
    new = page_text(await lead.get("/proposals/new"))
    for key, name in NAMES.items():
        assert f'value="{key}" checked' in new and name in new
    for text in (dashboard, detail, new, inbox):
        assert_no_shipped_label(text)

    compliance = await browser("compliance")
    certificate = page_text(await compliance.get(f"/compliance/proposals/{pid}/certificate"))
    assert "Certificate of completion" in certificate and "Approved" in certificate
    assert "Kobalt Music, BMG Rights Management, Concord" in certificate  # its parties
    for party, name in NAMES.items():
        assert f"<td>{name}</td>" in certificate and f"rep.{party}@example.com" in certificate
    assert_no_shipped_label(certificate)


async def test_the_submit_body_takes_the_policys_parties_only(api):
    """The OpenAPI schema lists them, and a party outside the policy is refused naming them."""
    schema = (await api("lead").get("/openapi.json")).json()
    parties = schema["components"]["schemas"]["ProposalSubmit"]["properties"]["parties"]
    assert parties["items"]["enum"] == ["kobalt", "bmg", "concord"]
    export = schema["paths"]["/api/v1/audit/export"]["get"]["parameters"]
    [party] = [p for p in export if p["name"] == "party"]
    assert [s.get("enum") for s in party["schema"]["anyOf"]] == [["kobalt", "bmg", "concord"], None]

    response = await api("lead").post("/api/v1/proposals", json={**body(), "parties": ["sony", "bmg"]})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "parties"]
    assert "unknown parties: sony; the policy's parties are kobalt, bmg, concord" in error["msg"]
    exported = await api("compliance").get("/api/v1/audit/export", params={"party": "sony"})
    assert exported.status_code == 422 and "'kobalt', 'bmg' or 'concord'" in exported.text


def test_demo_accounts_are_a_rep_for_each_of_the_policys_parties(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(accounts, "hash_password", lambda password: "test-hash:" + password)  # argon2 is slow
    rows = cli.demo_accounts(engine, tmp_path, THREE)
    assert [(email, role, party) for email, role, party, _ in rows] == [
        ("lead@example.com", "lead", ""),
        ("rep.kobalt@example.com", "rep", "kobalt"),
        ("deputy.kobalt@example.com", "rep", "kobalt"),  # a second rep: someone to delegate to
        ("rep.bmg@example.com", "rep", "bmg"),
        ("rep.concord@example.com", "rep", "concord"),
        ("compliance@example.com", "compliance", ""),
        ("admin@example.com", "admin", ""),
    ]
    with transaction(engine) as session:
        names = [u.name for u in session.exec(select(User))]
    assert len(names) == 7 and all(" " in name and "Demo" not in name for name in names), names  # read like names
