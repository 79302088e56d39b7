"""Delegation through the pages: a rep delegates with the form, the delegate
decides on their behalf with the decision form, admins reassign, either ends it."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import Session, select

from countersign.storage.tables import Decision, Delegation, utcnow
from tests import factories
from tests.web_client import csrf_of


async def test_delegate_with_the_form_and_decide_on_behalf(browser, open_client, token_for, users, engine):
    colleague = factories.user(engine, "rep", "sony", email="colleague.sony@example.com")
    other = factories.user(engine, "rep", "sony", email="another.sony@example.com")
    sony = await browser(users["sony"].email)
    page = await sony.get("/delegations")
    assert page.status_code == 200 and 'value="colleague.sony@example.com"' in page.text
    assert 'value="rep.warner@example.com"' not in page.text  # colleagues of the same label only
    bad = await sony.post("/delegations", {"delegate": colleague.email, "ends_on": "yesterday"},
                          token=csrf_of(page.text))
    assert bad.status_code == 422 and "last day" in bad.text
    last_day = (utcnow() + timedelta(days=5)).date().isoformat()
    made = await sony.post("/delegations", {"delegate": colleague.email, "ends_on": last_day},
                           token=csrf_of(page.text))
    assert made.status_code == 303, made.text
    assert "active" in (await sony.get("/delegations")).text

    lead = open_client(token_for(users["lead"].email))
    proposal = (await lead.post("/api/v1/proposals", json=factories.submission(parties=["sony"]))).json()
    delegate = await browser(colleague.email)
    form = await delegate.get(f"/proposals/{proposal['id']}/decide")
    assert 'name="on_behalf_of"' in form.text and 'value="rep.sony@example.com"' in form.text
    decision_id = re.search(r'name="decision_id" value="([^"]+)"', form.text).group(1)
    decided = await delegate.post(f"/proposals/{proposal['id']}/decide",
                                  {"decision": "approve", "comment": "", "version": "1", "decision_id": decision_id,
                                   "on_behalf_of": users["sony"].email, "password": factories.PASSWORD},
                                  token=csrf_of(form.text))
    assert decided.status_code == 303, decided.text
    with Session(engine) as session:
        decision = session.exec(select(Decision).where(Decision.proposal_id == proposal["id"])).one()
        assert (decision.actor, decision.on_behalf_of) == (colleague.email, "rep.sony@example.com")
        delegation_id = session.exec(select(Delegation)).one().id

    admin = await browser(users["admin"].email)
    listing = await admin.get("/delegations")
    assert f'action="/delegations/{delegation_id}/reassign"' in listing.text
    moved = await admin.post(f"/delegations/{delegation_id}/reassign", {"delegate": other.email},
                             token=csrf_of(listing.text))
    assert moved.status_code == 303
    assert (await delegate.post(f"/delegations/{delegation_id}/reassign", {"delegate": colleague.email},
                                token=csrf_of(form.text))).status_code == 403
    with Session(engine) as session:
        rows = session.exec(select(Delegation).order_by(Delegation.id)).all()
        assert rows[0].revoked_by == "admin@example.com" and rows[1].delegate_id == other.id
    ended = await sony.post(f"/delegations/{rows[1].id}/end", {}, token=csrf_of(page.text))
    assert ended.status_code == 303
    with Session(engine) as session:
        assert session.get(Delegation, rows[1].id).revoked_by == users["sony"].email
