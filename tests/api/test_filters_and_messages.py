"""Filters say what they did with a value they cannot use, the stage filter
offers every stage of the policy, leads and reps search by words and label,
date fields read what people type, a tampered form field gets a sentence, and
delegation is in the navigation of the roles that use it (issue 25)."""

from __future__ import annotations

import html
from datetime import date, timedelta

from api.routes import pages
from api.templating import build_environment
from countersign.domain.policy import load_policy
from tests.api.test_pages import form_body, submit


async def test_compliance_filters_explain_a_value_they_cannot_use(app, browser):
    compliance = await browser("compliance")
    page = html.unescape((await compliance.get("/compliance", params={"proposal": "forty-two"})).text)
    assert "could not be read" in page and "a proposal number, such as 42" in page
    page = html.unescape((await compliance.get("/compliance", params={"since": "2026-05-02",
                                                                         "until": "2026-05-01"})).text)
    assert "the to-date comes before the from-date (2026-05-02)" in page
    fine = html.unescape((await compliance.get("/compliance", params={"since": "2026-05-01",
                                                                         "until": "2026-05-01"})).text)
    assert "could not be read" not in fine
    for stage in app.state.policy.stages:  # every stage of the policy, whether or not a proposal is in it
        assert f'<option value="{html.escape(stage.name)}"' in fine


async def test_the_dashboard_says_when_it_cannot_use_a_status(browser):
    lead = await browser("lead")
    page = html.unescape((await lead.get("/", params={"status": "sideways"})).text)
    assert "There is no status “sideways” to show; here are all proposals." in page
    assert "There is no status" not in (await lead.get("/", params={"status": "approved"})).text


async def test_a_tampered_form_field_gets_a_sentence(browser):
    lead = await browser("lead")
    response = await lead.post("/proposals/new", form_body(parties=["sony", "emi"], launch_scope="everywhere"))
    assert response.status_code == 422
    text = html.unescape(response.text)
    assert "Unknown parties: emi; the policy's parties are" in text and "['emi']" not in text
    assert "Choose one of the options." in text


async def test_delegation_is_in_the_navigation_of_reps_and_admins(browser):
    for role, shown in (("sony", True), ("admin", True), ("lead", False), ("compliance", False)):
        page = (await (await browser(role)).get("/checkpoints")).text
        assert ('href="/delegations"' in page) is shown, role


async def test_leads_and_reps_find_their_proposals_by_words_and_label(api, browser):
    karaoke = await submit(api, title="Karaoke voice studio", summary="Sing along to licensed stems.",
                           parties=["sony", "warner"])
    await submit(api)  # "AI remix studio", to every label
    lead = await browser("lead")
    page = html.unescape((await lead.get("/", params={"q": "KARAOKE"})).text)
    assert "Karaoke voice studio" in page and "AI remix studio" not in page
    assert 'data-live="/live/dashboard?q=KARAOKE&page=1"' in page  # the live fragment keeps the search
    page = html.unescape((await lead.get("/", params={"q": "stud", "label": "merlin"})).text)
    assert "AI remix studio" in page and "Karaoke voice studio" not in page
    sony = await browser("sony")
    page = html.unescape((await sony.get("/live/dashboard", params={"q": "sing", "label": "warner"})).text)
    listed = page.split('id="proposals-title"')[1]  # (what waits on Sony is above it, unfiltered)
    assert "Karaoke voice studio" in listed and "AI remix studio" not in listed
    merlin = (await (await browser("merlin")).get("/", params={"q": "karaoke"})).text
    assert "Karaoke voice studio" not in merlin and "No proposals match the filters above." in merlin
    page = html.unescape((await lead.get("/", params={"q": "!!", "label": "emi", "status": "approved"})).text)
    assert "“!!” has no letters or digits to search for; here are proposals with any title." in page
    assert "There is no label “emi” in the policy; here are proposals of every label." in page
    assert 'data-live="/live/dashboard?status=approved&page=1"' in page  # the unusable ones are left out
    listed = await api("sony").get("/api/v1/proposals", params={"q": "voice kara", "party": "warner"})
    assert [p["id"] for p in listed.json()] == [karaoke["id"]]
    assert (await api("sony").get("/api/v1/proposals", params={"q": "--"})).status_code == 422  # no word in it


async def test_date_fields_read_the_forms_people_type(browser):
    compliance = await browser("compliance")
    page = html.unescape((await compliance.get("/compliance", params={"since": "31/12/2025",
                                                                         "until": "Jan 2, 2026"})).text)
    assert "could not be read" not in page and 'value="2025-12-31"' in page and 'value="2026-01-02"' in page
    page = html.unescape((await compliance.get("/compliance", params={"since": "03/04/2026"})).text)
    assert "“03/04/2026” could be 3 April or 4 March 2026: enter 2026-04-03 or 2026-03-04" in page
    lead = await browser("lead")
    preview = await lead.post("/proposals/new/preview", form_body(requested_decision_date="31 Dec 2099"))
    assert preview.status_code == 200 and 'value="2099-12-31"' in preview.text
    refused = await lead.post("/proposals/new", form_body(requested_decision_date="03/04/2099"))
    assert refused.status_code == 422 and "could be 3 April or 4 March 2099" in html.unescape(refused.text)
    day = date.today() + timedelta(days=40)
    created = await lead.post("/tokens", {"name": "ci", "expires_on": f"{day.day}.{day.month}.{day.year}"})
    assert created.status_code == 200 and f"{day:%d %b %Y}" in created.text
    refused = await lead.post("/tokens", {"name": "ci", "expires_on": "2099-02-30"})
    assert "The expiry: there is no day “2099-02-30”" in html.unescape(refused.text)


def test_a_pager_says_its_order_and_a_search_past_its_count_says_more():
    pager = build_environment(load_policy()).get_template("partials/macros.html").module.pager
    inbox = " ".join(str(pager(pages.pager(2, 120), "/inbox?", order="soonest due first", earlier="Due sooner",
                                later="Due later")).split())
    assert ('<a href="/inbox?page=1" rel="prev">← Due sooner</a> <span class="muted">Page 2 of 3 · 120 in all, '
            'soonest due first</span> <a href="/inbox?page=3" rel="next">Due later →</a>') in inbox
    found = pages.pager(1, 1001, most=1001)
    assert found["more"] and "Page 1 · more than 1000 found, newest change first" in str(pager(found, "/?"))
    assert not pages.pager(1, 1000, most=1001)["more"]
