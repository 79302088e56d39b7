"""E-mailed decision links: signed, expiring, naming proposal and party; a
GET opens a confirmation page and changes nothing; the decision is the
form's POST by a signed-in rep of that party."""

from __future__ import annotations

import re
import time
from urllib.parse import quote

import itsdangerous.timed
import pytest_asyncio
from sqlmodel import Session, select

from countersign.domain.links import LINK_LIFETIME, LinkExpired, LinkSigner
from countersign.storage.tables import Decision, OutboxMail
from tests import factories
from tests.web_client import csrf_of
from workflows.worker import build_worker


@pytest_asyncio.fixture
async def worker(temporal_env, engine, task_queue, settings):
    """The worker as `countersign up` builds it: signing the links in reps' mail."""
    async with build_worker(temporal_env.client, engine, task_queue, factories.policy(),
                            base_url=settings.base_url, link_secret=settings.session_secret) as running:
        yield running


async def submit(open_client, token_for, users, parties=("sony", "warner")) -> int:
    lead = open_client(token_for(users["lead"].email))
    response = await lead.post("/api/v1/proposals", json=factories.submission(parties=list(parties)))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def link_path(url: str) -> str:
    return "/links/" + url.rsplit("/links/", 1)[1]


async def test_the_mailed_link_leads_the_signed_in_rep_to_the_form_and_a_get_changes_nothing(
        open_client, token_for, users, engine, browser, settings):
    proposal_id = await submit(open_client, token_for, users)
    with Session(engine) as session:
        mail = session.exec(select(OutboxMail).where(OutboxMail.recipient == "rep.sony@example.com",
                                                     OutboxMail.proposal_id == proposal_id)).one()
    url = re.search(r"Decide here: (\S+)", mail.body).group(1)
    assert url.startswith(f"{settings.base_url}/links/")
    link = LinkSigner(settings.session_secret).read(url.rsplit("/", 1)[1])
    assert (link.proposal_id, link.party) == (proposal_id, "sony")

    anonymous = await browser()
    scanned = await anonymous.get(link_path(url))  # what a mail scanner sees
    assert scanned.status_code == 303
    assert scanned.headers["location"] == f"/login?next={quote(link_path(url), safe='')}"

    sony = await browser(users["sony"].email)
    for _ in range(2):
        page = await sony.get(link_path(url))
        assert page.status_code == 200
        assert "Open the decision form" in page.text and f'href="/proposals/{proposal_id}/decide"' in page.text
        assert f'action="/proposals/{proposal_id}/decide"' not in page.text  # no form here: a link to one
    with Session(engine) as session:
        assert not session.exec(select(Decision).where(Decision.proposal_id == proposal_id)).all()

    form = await sony.get(f"/proposals/{proposal_id}/decide")
    decided = await sony.post(f"/proposals/{proposal_id}/decide",
                              {"decision": "approve", "comment": "", "version": "1", "password": factories.PASSWORD,
                               "decision_id": re.search(r'name="decision_id" value="([^"]+)"', form.text).group(1)},
                              token=csrf_of(form.text))
    assert decided.status_code == 303
    after = await sony.get(link_path(url))
    assert after.status_code == 200 and "no decision open" in after.text


async def test_a_link_for_another_party_is_refused(open_client, token_for, users, browser, settings):
    proposal_id = await submit(open_client, token_for, users)
    path = link_path(LinkSigner(settings.session_secret).url(proposal_id, "sony"))
    for who in ("warner", "lead", "compliance"):
        page = await (await browser(users[who].email)).get(path)
        assert page.status_code == 403, who
        assert "This link is for Sony Music Group" in page.text


async def test_an_altered_link_is_refused(open_client, token_for, users, browser, settings):
    proposal_id = await submit(open_client, token_for, users)
    signer = LinkSigner(settings.session_secret)
    genuine = signer.token(proposal_id, "sony")
    payload, rest = genuine.split(".", 1)
    forged_payload = LinkSigner("another secret").token(proposal_id + 1, "sony").split(".", 1)[0]
    sony = await browser(users["sony"].email)
    for token in (forged_payload + "." + rest, genuine[:-3], LinkSigner("another secret").token(proposal_id, "sony"),
                  "nonsense"):
        page = await sony.get(f"/links/{token}")
        assert page.status_code == 400, token
        assert "not valid" in page.text


async def test_an_expired_link_is_refused_with_a_clear_page(open_client, token_for, users, browser, settings,
                                                         monkeypatch):
    proposal_id = await submit(open_client, token_for, users)
    signer = LinkSigner(settings.session_secret)
    issued = time.time() - LINK_LIFETIME.total_seconds() - 60
    with monkeypatch.context() as patched:
        patched.setattr(itsdangerous.timed.time, "time", lambda: issued)
        old = signer.token(proposal_id, "sony")
    try:
        signer.read(old)
        raise AssertionError("an expired link was accepted")
    except LinkExpired:
        pass
    for client in (await browser(), await browser(users["sony"].email)):
        page = await client.get(f"/links/{old}")
        assert page.status_code == 410
        assert "expired" in page.text
