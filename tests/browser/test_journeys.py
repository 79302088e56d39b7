"""Each role's main journey in a real browser, through the real login page:
a lead submits, the labels decide (one requests changes, one sets
conditions), the lead resubmits and acknowledges, compliance reads it all."""

from __future__ import annotations

import uuid

from tests import factories
from tests.browser.conftest import PHONE, login, proposal_id_of, shoot

PARTIES = ["sony", "universal", "warner", "merlin", "believe"]


def fill_proposal(page, title: str) -> None:
    body = factories.submission()
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Summary").fill(body["summary"])
    page.get_by_label("AI capability").fill(body["capability"])
    page.get_by_label("Data sources").fill(body["data_sources"])
    page.get_by_label("Launch scope").select_option("pilot")
    for key, answer in body["checklist"].items():
        page.locator(f'[name="checklist.{key}"]').fill(answer)


def decide(browser, base_url: str, party: str, proposal_id: int, decision: str, comment: str = "",
           shots: str | None = None) -> None:
    page = login(browser, base_url, f"rep.{party}@example.com")
    page.goto(f"/proposals/{proposal_id}")
    page.get_by_role("link", name="Decide for").first.click()
    page.wait_for_url(f"**/proposals/{proposal_id}/decide")
    page.get_by_label(decision, exact=True).check()
    if comment:
        page.get_by_label("Comment").fill(comment)
    page.get_by_label("Your password").fill(factories.PASSWORD)  # a decision is a signature: re-authenticate
    if shots:
        shoot(page, shots)
    page.get_by_role("button", name="Record decision").click()
    page.wait_for_url(f"**/proposals/{proposal_id}")
    assert "Your decision for" in page.locator("[role=status]").first.inner_text()
    page.context.close()


def test_submit_decide_resubmit_acknowledge_and_audit(chromium, live_server):
    base = live_server.url
    title = f"AI remix studio {uuid.uuid4().hex[:6]}"

    def journey(browser):
        # The lead submits through the form; a blank form shows each error beside its field first.
        lead = login(browser, base, "lead@example.com")
        shoot(lead, "dashboard-lead-before")
        lead.get_by_role("link", name="New proposal").first.click()
        lead.wait_for_url("**/proposals/new")
        shoot(lead, "submit-form")
        lead.get_by_role("button", name="Submit for review").click()
        assert lead.get_by_role("alert").first.is_visible()
        assert lead.locator("#f-title-error").is_visible()
        shoot(lead, "submit-form-errors")
        fill_proposal(lead, title)
        lead.get_by_role("button", name="Submit for review").click()
        lead.wait_for_url("**/proposals/*")
        proposal_id = proposal_id_of(lead)
        assert title in lead.locator("h1").inner_text()
        shoot(lead, "proposal-submitted")

        # Sony's inbox has the proposal, with the decision form one click away and a count in the navigation.
        sony = login(browser, base, "rep.sony@example.com")
        shoot(sony, "dashboard-rep")
        sony.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
        sony.wait_for_url("**/inbox")
        while not sony.get_by_role("link", name=title).count():  # soonest due first: a new one comes last
            sony.get_by_role("link", name="Due later").click()
        assert sony.get_by_role("link", name=title).first.is_visible()
        assert int(sony.locator("[data-inbox-count]").inner_text()) >= 1
        shoot(sony, "inbox")
        sony.get_by_role("link", name=f"Decide on {title}").click()
        sony.wait_for_url(f"**/proposals/{proposal_id}/decide")
        sony.context.close()

        # The lead's proposal page updates itself, without reloading, once Sony decides.
        lead.goto(f"/proposals/{proposal_id}")
        lead.locator('[data-live$="/live"]').wait_for()  # the proposal's region (the thread has its own)
        decide(browser, base, "sony", proposal_id, "Request changes",
               "Name the stems' licence in the data sources, please.", shots="decision-form")
        live_status = lead.locator(".status-line .chip")
        live_status.filter(has_text="Changes requested").wait_for(timeout=15_000)  # no reload in between
        assert "Name the stems' licence" in lead.locator('[data-live$="/live"]').inner_text()

        # The lead sees what needs action and resubmits through the prefilled form.
        lead.goto("/")
        shoot(lead, "dashboard-lead-needs-action")
        lead.get_by_role("link", name=f"Submit a new version of {title}").click()
        lead.wait_for_url(f"**/proposals/{proposal_id}/resubmit")
        assert "Name the stems' licence" in lead.content()
        lead.get_by_label("Data sources").fill("Licensed stems under the 2026 stem licence; no user uploads.")
        shoot(lead, "resubmit-form")
        lead.get_by_role("button", name="Submit version 2").click()
        lead.wait_for_url(f"**/proposals/{proposal_id}")
        assert "Version 2 was submitted" in lead.content()

        # Universal approves with conditions; the others (Sony included) approve.
        decide(browser, base, "universal", proposal_id, "Approve with conditions",
               "Label every export as AI-assisted in the player.")
        for party in ("sony", "warner", "merlin"):
            decide(browser, base, party, proposal_id, "Approve")

        # The lead acknowledges the conditions.
        lead.goto(f"/proposals/{proposal_id}")
        lead.get_by_role("button", name="Acknowledge the conditions").click()
        lead.wait_for_url(f"**/proposals/{proposal_id}")
        assert "You acknowledged the conditions" in lead.content()

        decide(browser, base, "believe", proposal_id, "Approve")
        lead.goto(f"/proposals/{proposal_id}")
        assert "Approved" in lead.locator(".status-line .chip").first.inner_text()
        shoot(lead, "proposal-approved")
        lead.context.close()

        # Compliance reads the whole story, and the compliance pages where they exist.
        compliance = login(browser, base, "compliance@example.com")
        compliance.goto(f"/proposals/{proposal_id}")
        text = compliance.content()
        assert "Label every export as AI-assisted" in text
        assert "Name the stems" in text
        assert compliance.get_by_role("link", name="Decide for").count() == 0
        shoot(compliance, "proposal-compliance")
        compliance.get_by_role("link", name="Charts").click()
        compliance.wait_for_url("**/compliance/charts")
        assert compliance.locator("svg[role=img]").count() == 3
        shoot(compliance, "compliance-charts")
        response = compliance.goto("/compliance")  # the audit pages, where this build has them
        if response is not None and response.status == 200:
            shoot(compliance, "compliance-search")
        compliance.context.close()

        # The same pages at phone width.
        phone = login(browser, base, "lead@example.com", viewport=PHONE)
        shoot(phone, "phone-dashboard-lead")
        phone.goto(f"/proposals/{proposal_id}")
        shoot(phone, "phone-proposal")
        phone.context.close()
        phone = login(browser, base, "rep.sony@example.com", viewport=PHONE)
        phone.goto("/inbox")
        shoot(phone, "phone-inbox")
        phone.goto("/proposals/new")
        shoot(phone, "phone-submit-form")
        phone.context.close()

    chromium(journey)


def test_a_rep_decides_with_javascript_off_and_the_keyboard(chromium, live_server):
    base = live_server.url
    title = f"Voice feature {uuid.uuid4().hex[:6]}"

    def journey(browser):
        lead = login(browser, base, "lead@example.com", javascript=False)
        lead.goto("/proposals/new")
        fill_proposal(lead, title)
        lead.get_by_label("Universal Music Group").uncheck()
        lead.get_by_label("Warner Music Group").uncheck()
        lead.get_by_label("Merlin").uncheck()
        lead.get_by_label("Believe").uncheck()
        lead.get_by_role("button", name="Submit for review").click()
        lead.wait_for_url("**/proposals/*")
        proposal_id = proposal_id_of(lead)
        lead.context.close()

        # A phone, no JavaScript, keyboard only: sign in, open the decision form, decide.
        context = browser.new_context(base_url=base, viewport=PHONE, java_script_enabled=False)
        page = context.new_page()
        page.goto(f"/proposals/{proposal_id}/decide")
        page.wait_for_url("**/login?next=*")
        email = page.get_by_label("E-mail address")
        email.wait_for()
        assert email.get_attribute("autofocus") is not None  # the e-mail field takes focus on arrival
        email.focus()  # (made sure of: a loaded machine may not have applied autofocus yet)
        page.keyboard.type("rep.sony@example.com")
        page.keyboard.press("Tab")
        page.keyboard.type(factories.PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: url.endswith("/decide") or url.endswith("/login"))  # signed in, or refused
        assert page.url.endswith("/decide"), page.locator("#login-error").all_inner_texts()
        shoot(page, "phone-decision-form")
        page.get_by_label("Approve", exact=True).focus()
        page.keyboard.press("Space")
        assert page.get_by_label("Approve", exact=True).is_checked()
        page.get_by_label("Your password").focus()
        page.keyboard.type(factories.PASSWORD)
        page.get_by_role("button", name="Record decision").focus()
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/proposals/{proposal_id}")
        assert "Approved" in page.locator(".status-line .chip").first.inner_text()
        context.close()

    chromium(journey)
