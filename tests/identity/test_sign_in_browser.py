"""A rep signs in through their organisation's own OpenID provider in a real browser (chromium),
decides for their own label and no other, and their organisation's SCIM deactivation ends their
session and tokens at once, on the access chain."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest
from sqlmodel import Session, select

from countersign.storage.accounts import create_token
from countersign.storage.db import transaction
from countersign.storage.identity import create_scim_token
from countersign.storage.tables import User
from tests import factories
from tests.browser.conftest import DESKTOP, shoot

SONY, UNIVERSAL = "Sony Music Group", "Universal Music Group"

# The providers' process and its live server start once per test process: keep their tests in one.
pytestmark = pytest.mark.xdist_group("identity")


def sign_in_with(browser, base: str, organisation: str, login: str):
    """A new browser context that signs in at `organisation`'s provider as `login`; its page, back at
    Countersign, and the callback URLs it went through."""
    context = browser.new_context(base_url=base, viewport=DESKTOP)
    context.set_default_timeout(20_000)
    page = context.new_page()
    callbacks: list[str] = []
    page.on("request", lambda request: callbacks.append(request.url) if "/callback" in request.url else None)
    page.goto("/login")
    page.get_by_role("link", name=f"Sign in with {organisation}").click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.[23]:\d+/"))  # at the organisation's provider
    page.locator('input[name="login"]').fill(login)
    page.locator('input[name="password"]').fill("whatever the provider asks")
    page.get_by_role("button", name="Sign-in").click()
    page.wait_for_url(f"{base}/**")
    page.wait_for_load_state()
    return page, callbacks


def test_reps_sign_in_through_their_own_provider_and_scim_ends_them(chromium, providers):
    live = providers.live
    base, engine = live.url, live.engine
    with transaction(engine) as session:
        lead_token = create_token(session, "lead@example.com")
        scim = {party: create_scim_token(session, party) for party in ("sony", "universal")}
    lead = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {lead_token}"}, timeout=20)
    created = lead.post("/api/v1/proposals", json=factories.submission(parties=["sony", "universal"]))
    assert created.status_code == 201, created.text
    proposal_id = created.json()["id"]
    seen: dict = {}

    def journey(browser):
        # The sign-in page offers each organisation's provider; local passwords stay.
        page, _ = sign_in_with(browser, base, SONY, "alice")
        assert page.url.rstrip("/") == base, page.url
        assert "Alice Sony" in page.locator(".who-name").inner_text()
        shoot(page, "sso-signed-in-rep")
        seen["alice_page"] = page

        # Alice decides for Sony, and Sony only.
        page.goto(f"/proposals/{proposal_id}")
        page.get_by_role("link", name=f"Decide for {SONY}").click()
        page.wait_for_url(f"**/proposals/{proposal_id}/decide")
        page.get_by_label("Approve", exact=True).check()
        page.get_by_role("button", name="Record decision").click()
        page.wait_for_url(f"**/proposals/{proposal_id}")
        assert "Your decision for" in page.locator("[role=status]").first.inner_text()
        assert page.get_by_role("link", name=re.compile("Decide for")).count() == 0  # nothing left to her

        # A provider's answer counts once: the same callback again is refused.
        again, callbacks = sign_in_with(browser, base, SONY, "alice")
        replay = again.goto(callbacks[-1])
        assert replay.status == 401
        assert "did not complete" in again.locator("#login-error").inner_text()
        again.context.close()

        # Universal's provider vouching for Alice's address does not make anyone Alice.
        eve, _ = sign_in_with(browser, base, UNIVERSAL, "eve")
        assert "account of another organisation" in eve.locator("#login-error").inner_text()
        shoot(eve, "sso-refused-other-organisation")
        eve.context.close()

        # A Sony person the mapping gives no role is refused with a message.
        mallory, _ = sign_in_with(browser, base, SONY, "mallory")
        assert "does not give you a role" in mallory.locator("#login-error").inner_text()
        mallory.context.close()

        # Carol, through Universal's provider, is Universal's rep: she decides for Universal.
        carol, _ = sign_in_with(browser, base, UNIVERSAL, "carol")
        carol.goto(f"/proposals/{proposal_id}")
        assert carol.get_by_role("link", name=f"Decide for {UNIVERSAL}").count() == 1
        carol.context.close()

        # Sony's SCIM deactivation ends Alice's session and API token within a second.
        with transaction(engine) as session:
            alice_token = create_token(session, "alice@sony.example", scopes=factories.token_scopes(session, "alice@sony.example"))
        alice_api = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {alice_token}"}, timeout=20
        )
        assert alice_api.get("/api/v1/inbox").status_code == 200
        # Universal's slot is still open, and not hers: her decision is refused.
        for_universal = alice_api.post(f"/api/v1/proposals/{proposal_id}/decisions", json={"decision": "approve"})
        assert for_universal.status_code in (403, 409), for_universal.text
        universal = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {scim['universal']}"})
        assert (
            universal.get("/scim/v2/Users", params={"filter": 'userName eq "alice@sony.example"'}).json()[
                "totalResults"
            ]
            == 0
        )  # not Universal's to see, nor to end
        sony = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {scim['sony']}"}, timeout=20)
        found = sony.get("/scim/v2/Users", params={"filter": 'userName eq "alice@sony.example"'}).json()
        assert found["totalResults"] == 1
        alice_id = found["Resources"][0]["id"]
        assert universal.get(f"/scim/v2/Users/{alice_id}").status_code == 404
        started = time.monotonic()
        ended = sony.patch(
            f"/scim/v2/Users/{alice_id}",
            json={
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": False}],
            },
        )
        assert ended.status_code == 200 and ended.json()["active"] is False, ended.text
        assert alice_api.get("/api/v1/inbox").status_code == 401
        # Her browser's own session cookie (the request shares the page's cookies, without rendering).
        session_ended = page.request.get(f"/proposals/{proposal_id}", max_redirects=0)
        seen["elapsed"] = time.monotonic() - started
        assert session_ended.status == 303 and session_ended.headers["location"].startswith("/login")
        page.goto(f"/proposals/{proposal_id}")
        assert "/login" in page.url
        page.context.close()

    chromium(journey)
    assert seen["elapsed"] < 1.0, seen
    proposal = lead.get(f"/api/v1/proposals/{proposal_id}").json()
    assert proposal["parties"]["sony"]["state"] == "approved"
    assert proposal["parties"]["sony"]["decided_by"] == "alice@sony.example"
    assert proposal["parties"]["universal"]["state"] == "pending"
    with Session(engine) as session:
        alice = session.exec(select(User).where(User.email == "alice@sony.example")).one()
        assert (alice.role, alice.party, alice.active) == ("rep", "sony", False)
        assert session.exec(select(User).where(User.email == "mallory@sony.example")).first() is None
    # Compliance sees it on the access chain through the audit export.
    with transaction(engine) as session:
        compliance_token = create_token(session, "compliance@example.com")
    exported = httpx.get(
        f"{base}/api/v1/audit/export",
        timeout=20,
        params={"access": "true", "kind": "account_deactivated"},
        headers={"Authorization": f"Bearer {compliance_token}"},
    )
    assert exported.status_code == 200, exported.text
    rows = [json.loads(line) for line in exported.text.splitlines() if line.strip()]
    assert [(r["actor"], r["detail"]["account"]) for r in rows if r.get("kind") == "account_deactivated"] == [
        ("scim:sony", "alice@sony.example")
    ]
    deactivated = factories.access_chain(engine, "account_deactivated")
    assert [(e.actor, e.party, e.detail["account"], e.detail["tokens_revoked"]) for e in deactivated] == [
        ("scim:sony", "sony", "alice@sony.example", 1)
    ]
    assert any(e.detail["owner"] == "alice@sony.example" for e in factories.access_chain(engine, "token_revoked"))
    refusals = [e.detail["reason"] for e in factories.access_chain(engine, "sign_in_failed")]
    assert {"mismatching_state", "refused", "no_role"} <= set(refusals), refusals
