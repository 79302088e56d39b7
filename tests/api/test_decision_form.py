"""The decision form under a policy with partial approval: the diff starts from the version each
reviewer last saw (opened or decided on), files added since included, and the reject hint says
what a rejection does under this policy."""

from __future__ import annotations

import html

import pytest
from sqlmodel import Session, select

from countersign.domain.policy import load_policy
from countersign.storage.tables import VersionView
from tests import factories

QUORUM_PARTIAL = factories.POLICIES / "quorum_partial.toml"  # allow_partial; the first stage: all must approve
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PARTIES = ["sony", "warner", "merlin"]


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"policy": QUORUM_PARTIAL})


def body(summary: str) -> dict:
    return factories.submission(load_policy(QUORUM_PARTIAL), parties=PARTIES, summary=summary)


async def test_the_diff_starts_where_each_reviewer_left_off(api, browser, users, engine):
    deputy = users["deputy"] = factories.user(engine, "rep", "sony", email="deputy.sony@example.com")
    lead, warner = api("lead"), api("warner")
    pid = (await lead.post("/api/v1/proposals", json=body("Fans remix stems."))).json()["id"]
    sony = await browser("sony")
    assert (await sony.get(f"/proposals/{pid}")).status_code == 200  # Sony's rep sees version 1
    for summary in ("Fans remix licensed stems.", "Fans remix licensed stems in the app."):
        asked = await warner.post(f"/api/v1/proposals/{pid}/decisions",
                                  json={"decision": "request_changes", "comment": "Say which stems"})
        assert asked.status_code == 201, asked.text
        resubmitted = await lead.post(f"/api/v1/proposals/{pid}/resubmit", json=body(summary))
        assert resubmitted.status_code == 200, resubmitted.text
    attached = await lead.post(f"/api/v1/proposals/{pid}/files", files={"file": ("stems.pdf", PDF, "x/y")})
    assert attached.status_code == 201, attached.text

    form = html.unescape((await sony.get(f"/proposals/{pid}/decide")).text)
    assert "What changed since version 1, the last one you saw" in form
    assert "<del><span class=\"visually-hidden\">removed: </span>stems.</del>" in form
    assert "Files added since version 1: " in form and ">stems.pdf</a>" in form
    # Rights needs every label still in it; without Sony, Warner and Merlin go on: a partial approval.
    assert "drops out of this and later stages; the other labels go on" in form

    # Warner decided on version 2; the deputy opened nothing before version 3.
    warner_form = html.unescape((await (await browser("warner")).get(f"/proposals/{pid}/decide")).text)
    assert "What changed since version 2, the last one you saw" in warner_form
    deputy_form = html.unescape((await (await browser("deputy")).get(f"/proposals/{pid}/decide")).text)
    assert "What changed since version 2</h2>" in deputy_form
    assert "You have not opened an earlier version" in deputy_form
    assert (await sony.get(f"/proposals/{pid}")).status_code == 200  # again: written once
    assert (await (await browser("lead")).get(f"/proposals/{pid}")).status_code == 200  # not a reviewer

    with Session(engine) as session:
        seen = {(v.user_id, v.version) for v in session.exec(select(VersionView).where(VersionView.proposal_id == pid))}
    assert seen == {(users["sony"].id, 1), (users["sony"].id, 3), (users["warner"].id, 3), (deputy.id, 3)}
