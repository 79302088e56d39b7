"""Done when (issue 4): a rep of one label, tried as a new user would with a
browser and with the API, cannot read or decide another label's proposal,
forge a form, or reuse an expired link."""

from __future__ import annotations

import time

import itsdangerous.timed
from sqlmodel import Session, select

from countersign.domain.links import LINK_LIFETIME, LinkSigner
from countersign.storage.tables import Decision
from tests import factories
from tests.web_client import csrf_of


async def test_a_rep_cannot_reach_another_labels_proposal(open_client, token_for, users, browser, engine, settings,
                                                          monkeypatch):
    lead = open_client(token_for(users["lead"].email))
    proposal = (await lead.post("/api/v1/proposals", json=factories.submission(parties=["sony"]))).json()
    pid = proposal["id"]

    # With the API
    warner_api = open_client(token_for(users["warner"].email))
    assert (await warner_api.get(f"/api/v1/proposals/{pid}")).status_code == 404
    assert (await warner_api.get(f"/api/v1/proposals/{pid}/versions/1")).status_code == 404
    assert pid not in {p["id"] for p in (await warner_api.get("/api/v1/proposals")).json()}
    assert pid not in {p["id"] for p in (await warner_api.get("/api/v1/proposals", params={"party": "sony"})).json()}
    assert pid not in {p["id"] for p in (await warner_api.get("/api/v1/inbox")).json()}
    decided = await warner_api.post(f"/api/v1/proposals/{pid}/decisions", json={"decision": "approve"})
    assert decided.status_code == 404

    # With a browser
    warner = await browser(users["warner"].email)
    assert f"/proposals/{pid}" not in (await warner.get("/")).text
    for url in (f"/proposals/{pid}", f"/proposals/{pid}/decide", f"/proposals/{pid}/versions/1"):
        assert (await warner.get(url)).status_code == 404, url
    posted = await warner.post(f"/proposals/{pid}/decide", {"decision": "approve", "version": "1"})
    assert posted.status_code == 404

    # Forging a form: Sony's own rep, signed in, tricked into posting without the session's token
    sony = await browser(users["sony"].email)
    own_form = await sony.get(f"/proposals/{pid}/decide")
    assert own_form.status_code == 200
    for token in ("", "forged", csrf_of((await warner.get("/")).text)):  # none, made up, another session's
        forged = await sony.client.post(f"/proposals/{pid}/decide",
                                        data={"decision": "reject", "comment": "forged", "version": "1",
                                              "csrf_token": token})
        assert forged.status_code == 403 and "Form expired" in forged.text
    no_origin_check = await sony.client.post(f"/proposals/{pid}/decide", data={"decision": "reject"})
    assert no_origin_check.status_code == 403

    # Another label's link, and an expired one of its own
    signer = LinkSigner(settings.session_secret)
    assert (await warner.get(f"/links/{signer.token(pid, 'sony')}")).status_code == 403
    issued = time.time() - LINK_LIFETIME.total_seconds() - 5
    with monkeypatch.context() as patched:
        patched.setattr(itsdangerous.timed.time, "time", lambda: issued)
        expired = signer.token(pid, "sony")
    assert (await sony.get(f"/links/{expired}")).status_code == 410

    with Session(engine) as session:
        assert not session.exec(select(Decision).where(Decision.proposal_id == pid)).all()
