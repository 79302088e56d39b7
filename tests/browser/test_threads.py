"""A proposal's thread in a real browser with JavaScript off: three visibilities, seen from three
accounts (a Sony rep, the lead, a Universal rep), a question with a file posted through the form."""

from __future__ import annotations

import uuid

import httpx

from countersign.storage.accounts import create_token
from countersign.storage.db import transaction
from tests import factories
from tests.browser.conftest import login


def post(page, text: str, visibility: str, question: bool = False, party: str | None = None,
         attach: tuple[str, bytes] | None = None) -> None:
    form = page.locator("#new-message")
    form.get_by_label("New message").fill(text)
    form.get_by_label(visibility).check()
    if question:
        form.get_by_label("This is a question to the lead").check()
    if party:
        form.get_by_label("For the label").select_option(party)
    if attach:
        form.get_by_label("Attach a file").set_input_files(
            {"name": attach[0], "mimeType": "application/octet-stream", "buffer": attach[1]})
    form.get_by_role("button", name="Post").click()
    page.wait_for_load_state()
    assert "Your message was posted" in page.content(), page.content()[:2000]


def test_three_visibilities_seen_from_three_accounts(chromium, live_server):
    base, tag = live_server.url, uuid.uuid4().hex[:6]
    with transaction(live_server.engine) as session:
        token = create_token(session, "lead@example.com")
    submitted = httpx.post(f"{base}/api/v1/proposals", json=factories.submission(title=f"Thread {tag}"),
                           headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert submitted.status_code == 201, submitted.text
    pid = submitted.json()["id"]
    only_sony, to_lead, to_all = f"sony-only-{tag}", f"sony-asks-lead-{tag}", f"lead-to-all-{tag}"

    def journey(browser):
        sony = login(browser, base, "rep.sony@example.com", javascript=False)
        sony.goto(f"/proposals/{pid}")
        post(sony, only_sony, "My label only")
        post(sony, to_lead, "My label and the lead", question=True, attach=(f"stems-{tag}.csv", b"stem,artist\n1,A\n"))
        lead = login(browser, base, "lead@example.com", javascript=False)
        lead.goto(f"/proposals/{pid}")
        post(lead, to_all, "Everyone on the proposal")
        universal = login(browser, base, "rep.universal@example.com", javascript=False)
        universal.goto(f"/proposals/{pid}")
        sony.goto(f"/proposals/{pid}")
        seen = {who: page.locator("#thread").inner_text() for who, page in
                (("sony", sony), ("lead", lead), ("universal", universal))}
        assert all(text in seen["sony"] for text in (only_sony, to_lead, to_all, f"stems-{tag}.csv"))
        assert to_lead in seen["lead"] and to_all in seen["lead"] and only_sony not in seen["lead"]
        assert "open question" in seen["lead"]
        assert to_all in seen["universal"]
        assert not [t for t in (only_sony, to_lead, f"stems-{tag}.csv") if t in seen["universal"]]
        for page in (sony, lead, universal):
            page.context.close()

    chromium(journey)
