"""Filters say what they did with a value they cannot use, the stage filter
offers every stage of the policy, a tampered form field gets a sentence, and
delegation is in the navigation of the roles that use it (issue 25)."""

from __future__ import annotations

import html

from tests.api.test_pages import form_body


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
