"""Delegation through the pages: a rep delegates with the form (the last day counted in their own
zone), the delegate decides on their behalf with the decision form, the pages show both, admins
reassign, either ends it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from countersign.domain import delegation_days
from countersign.domain.errors import Forbidden
from countersign.storage import delegation
from countersign.storage.tables import Decision, Delegation, User, utcnow
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
    # Who acted and for whom: the proposal page's decisions, the timeline and the certificate.
    acted = (f'<span title="{colleague.email}">colleague.sony</span> for '
             '<span title="rep.sony@example.com">rep.sony</span> (delegated)')
    assert acted in (await delegate.get(f"/proposals/{proposal['id']}")).text
    compliance = await browser(users["compliance"].email)
    acted = acted.replace("colleague.sony<", f"{colleague.email}<").replace("rep.sony<", "rep.sony@example.com<")
    timeline = (await compliance.get(f"/compliance/proposals/{proposal['id']}")).text
    assert acted in timeline and "on behalf of:" not in timeline
    assert acted in (await compliance.get(f"/compliance/proposals/{proposal['id']}/certificate")).text

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


async def test_the_last_day_is_counted_where_the_delegator_is(browser, users, engine):
    """Sony's rep is in New York: the form's day is theirs, the delegation ends at the midnight after
    it there, and the access rule and mail follow that moment, not the UTC date."""
    colleague = factories.user(engine, "rep", "sony", email="colleague.sony@example.com")
    zone = "America/New_York"
    today = delegation_days.today(zone, utcnow())
    sony = await browser(users["sony"].email)
    page = await sony.get("/delegations")
    assert f"where you are ({zone})" in page.text
    past = await sony.post("/delegations", {"delegate": colleague.email, "ends_on": str(today - timedelta(days=1))},
                           token=csrf_of(page.text))
    assert past.status_code == 422 and f"The last day has passed where you are ({zone}" in past.text
    made = await sony.post("/delegations", {"delegate": colleague.email, "ends_on": str(today)},
                           token=csrf_of(page.text))
    assert made.status_code == 303, made.text
    listing = (await sony.get("/delegations")).text
    assert f"until the end of {today:%d %b %Y}, {zone} time" in listing
    assert f"to the end of {today:%d %b %Y} ({zone})" in listing
    with Session(engine) as session:
        row = session.exec(select(Delegation)).one()
        # Midnight in New York is 04:00 or 05:00 UTC the next day: the UTC date differs from the last day.
        assert row.ends_at == datetime.combine(today + timedelta(days=1), time(0), ZoneInfo(zone))
        assert row.ends_at.astimezone(UTC).date() == today + timedelta(days=1)
        delegate = session.get(User, colleague.id)
        last_second = row.ends_at - timedelta(seconds=1)
        assert delegation.acting_for(session, delegate, users["sony"].email, last_second).email == users["sony"].email
        assert [d.id for d, _, _ in delegation.in_force(session, ["sony"], last_second)] == [row.id]
        with pytest.raises(Forbidden):
            delegation.acting_for(session, delegate, users["sony"].email, row.ends_at)
        assert delegation.in_force(session, ["sony"], row.ends_at) == []
