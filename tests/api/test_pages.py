"""The server-rendered pages, through HTTP as a browser without JavaScript uses them:
signing in with the real login form, posting forms with their CSRF token."""

from __future__ import annotations

import html
import re

import pytest
from sqlmodel import Session, select

from countersign.storage.tables import Decision
from tests import factories
from tests.web_client import csrf_of


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden field {name} in the page"
    return html.unescape(match.group(1))


def form_body(**overrides) -> dict:
    """The submit form's fields for a valid proposal (as a browser sends them)."""
    body = factories.submission()
    fields = {key: body[key] for key in ("title", "summary", "capability", "data_sources", "launch_scope")}
    fields["parties"] = body["parties"]
    fields["requested_decision_date"] = ""
    fields.update({f"checklist.{key}": value for key, value in body["checklist"].items()})
    fields.update(overrides)
    return fields


async def submit(api, **overrides) -> dict:
    response = await api("lead").post("/api/v1/proposals", json=factories.submission(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


# -- signing in and out ------------------------------------------------------


async def test_pages_need_a_signed_in_user(browser):
    anonymous = await browser()
    response = await anonymous.get("/proposals/new?x=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fproposals%2Fnew%3Fx%3D1"


async def test_login_and_logout(browser, users):
    b = await browser()
    response = await b.login(users["sony"].email, next="/proposals/new")
    assert response.status_code == 303
    assert response.headers["location"] == "/proposals/new"
    dashboard = await b.get("/")
    assert dashboard.status_code == 200
    assert "Sony Music Group" in dashboard.text and "Sign out" in dashboard.text
    assert "Waiting on Sony Music Group" in dashboard.text

    out = await b.post("/logout", token=csrf_of(dashboard.text))
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert "You have signed out" in (await b.get("/login")).text
    assert (await b.get("/")).status_code == 303


async def test_login_rotates_the_session_and_its_csrf_token(browser, users):
    b = await browser()
    anonymous_token = await b.token()
    await b.login(users["lead"].email)
    signed_in_token = csrf_of((await b.get("/")).text)
    assert signed_in_token != anonymous_token
    stale = await b.post("/proposals/new", form_body(), token=anonymous_token)
    assert stale.status_code == 403


async def test_failed_login_shows_the_form_again(browser, users):
    b = await browser()
    response = await b.login(users["lead"].email, password="wrong password!")
    assert response.status_code == 401
    assert "do not match" in response.text
    assert 'value="lead@example.com"' in response.text
    assert (await b.get("/")).status_code == 303  # still signed out
    unknown = await b.login("nobody@example.com")
    assert unknown.status_code == 401


async def test_login_refuses_an_open_redirect(browser, users):
    for target in ("//evil.example/x", "http://evil.example/", "https:evil.example", "/\\evil.example",
                   "javascript:alert(1)", "evil.example", "/%0d%0aLocation:x"):
        b = await browser()
        response = await b.login(users["lead"].email, next=target)
        assert response.status_code == 303
        expected = "/%0d%0aLocation:x" if target.startswith("/%") else "/"
        assert response.headers["location"] == expected, target


async def test_forms_without_the_right_csrf_token_are_refused(browser, users):
    anonymous = await browser()
    no_token = await anonymous.client.post("/login", data={"email": users["lead"].email,
                                                            "password": factories.PASSWORD})
    assert no_token.status_code == 403
    assert "Form expired" in no_token.text

    lead = await browser("lead")
    missing = await lead.client.post("/proposals/new", data=form_body())
    wrong = await lead.post("/proposals/new", form_body(), token="not-the-token")
    assert missing.status_code == wrong.status_code == 403
    assert "nothing was changed" in wrong.text
    assert "AI remix studio" not in (await lead.get("/")).text  # nothing was submitted


# -- submitting ----------------------------------------------------------------


async def test_lead_submits_through_the_form(browser):
    lead = await browser("lead")
    form = await lead.get("/proposals/new")
    assert form.status_code == 200
    for name in ("title", "summary", "capability", "data_sources", "launch_scope", "requested_decision_date",
                 "checklist.agreements", "checklist.safeguards"):
        assert f'name="{name}"' in form.text
    assert form.text.count('name="parties"') == 5 and form.text.count(" checked") == 5
    assert "Upfront agreements: which licences or agreements cover this use?" in form.text

    response = await lead.post("/proposals/new", form_body(requested_decision_date="2026-12-31",
                                                           parties=["sony", "merlin"]),
                               token=csrf_of(form.text))
    assert response.status_code == 303
    assert re.fullmatch(r"/proposals/\d+", response.headers["location"])

    page = await lead.get(response.headers["location"])
    assert page.status_code == 200
    assert "<h1>AI remix studio</h1>" in page.text
    assert "was submitted" in page.text  # the confirmation, once
    assert "Thu 31 Dec 2026" in page.text
    assert "Merlin" in page.text and "Warner Music Group" not in page.text
    assert "was submitted" not in (await lead.get(response.headers["location"])).text


async def test_bad_input_shows_each_error_beside_its_field_and_keeps_what_was_typed(browser):
    lead = await browser("lead")
    response = await lead.post("/proposals/new", form_body(
        title="  ", launch_scope="everywhere", requested_decision_date="next week", parties=[],
        summary="A summary I typed <carefully>", **{"checklist.compensation": ""}))
    assert response.status_code == 422
    text = response.text
    for field in ("title", "launch_scope", "requested_decision_date", "parties", "checklist-compensation"):
        assert f'id="f-{field}-error"' in text, field
    assert 'aria-describedby="f-title-hint f-title-error" aria-invalid="true"' in text and 'aria-invalid="true"' in text
    assert "name at least one party" in text.lower()
    assert "is not a date we can read: enter a date such as 2026-12-31" in text
    assert "A summary I typed &lt;carefully&gt;" in text  # kept, and escaped
    assert 'value="next week"' in text
    assert "Covered by the 2026 stem licence." in text
    assert "AI remix studio" not in (await lead.get("/")).text


async def test_only_leads_get_the_submit_form(browser):
    for role in ("sony", "compliance"):
        b = await browser(role)
        assert (await b.get("/proposals/new")).status_code == 403
        assert (await b.post("/proposals/new", form_body())).status_code == 403


# -- deciding ------------------------------------------------------------------


async def test_rep_decides_through_the_form_and_a_double_post_counts_once(api, browser, engine):
    proposal = await submit(api, parties=["sony", "warner"])
    sony = await browser("sony")
    dashboard = (await sony.get("/")).text
    assert f'href="/proposals/{proposal["id"]}/decide"' in dashboard  # what waits on the label, one click away
    assert re.search(r"Sony:</span>\s*Pending", dashboard) and re.search(r"Warner:</span>\s*Pending", dashboard)
    detail = await sony.get(f"/proposals/{proposal['id']}")
    assert "Decide for Sony Music Group" in detail.text

    form = await sony.get(f"/proposals/{proposal['id']}/decide")
    assert form.status_code == 200
    fields = {"decision": "approve", "comment": "Fine by us", "version": hidden(form.text, "version"),
              "decision_id": hidden(form.text, "decision_id"), "password": factories.PASSWORD}
    assert fields["version"] == "1"
    first = await sony.post(f"/proposals/{proposal['id']}/decide", fields, token=csrf_of(form.text))
    second = await sony.post(f"/proposals/{proposal['id']}/decide", fields, token=csrf_of(form.text))
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == f"/proposals/{proposal['id']}"

    with Session(engine) as session:
        rows = session.exec(select(Decision).where(Decision.proposal_id == proposal["id"])).all()
    assert [(row.party, row.decision, row.actor) for row in rows] == [("sony", "approve", "rep.sony@example.com")]

    page = await sony.get(f"/proposals/{proposal['id']}")
    assert "was recorded: approve" in page.text
    assert "Fine by us" in page.text
    assert "Decide for Sony Music Group" not in page.text  # decided: no button any more
    again = await sony.get(f"/proposals/{proposal['id']}/decide")
    assert again.status_code == 409 and "no decision open" in again.text


async def test_decision_form_refusals_are_shown_on_the_form(api, browser):
    proposal = await submit(api, parties=["merlin"])
    merlin = await browser("merlin")
    url = f"/proposals/{proposal['id']}/decide"
    form = await merlin.get(url)
    no_choice = await merlin.post(url, {"comment": "hm", "version": "1", "decision_id": hidden(form.text, "decision_id")})
    assert no_choice.status_code == 422 and "Choose a decision." in no_choice.text
    no_reason = await merlin.post(url, {"decision": "reject", "version": "1", "password": factories.PASSWORD,
                                        "decision_id": hidden(form.text, "decision_id")})
    assert no_reason.status_code == 422
    assert 'id="f-comment-error"' in no_reason.text and "comment is required" in no_reason.text
    assert re.search(r'value="reject"[^>]*checked', no_reason.text)  # the choice is kept
    stale = await merlin.post(url, {"decision": "approve", "version": "7", "password": factories.PASSWORD,
                                    "decision_id": hidden(form.text, "decision_id")})
    assert stale.status_code == 409 and "the proposal is at version 1" in stale.text


async def test_a_rep_of_an_untouched_label_cannot_see_the_proposal(api, browser):
    proposal = await submit(api, parties=["sony"])
    warner = await browser("warner")
    assert (await warner.get(f"/proposals/{proposal['id']}")).status_code == 404
    assert (await warner.get(f"/proposals/{proposal['id']}/decide")).status_code == 404
    assert (await warner.get(f"/proposals/{proposal['id']}/versions/1")).status_code == 404
    posted = await warner.post(f"/proposals/{proposal['id']}/decide", {"decision": "approve", "version": "1"})
    assert posted.status_code == 404
    assert "AI remix studio" not in (await warner.get("/")).text
    assert (await warner.get("/proposals/not-a-number")).status_code == 404


async def test_compliance_reads_everything_but_decides_nothing(api, browser):
    proposal = await submit(api, parties=["sony"])
    compliance = await browser("compliance")
    assert "AI remix studio" in (await compliance.get("/")).text
    page = await compliance.get(f"/proposals/{proposal['id']}")
    assert page.status_code == 200
    assert "Decide for" not in page.text and "/decide" not in page.text
    assert (await compliance.get(f"/proposals/{proposal['id']}/decide")).status_code == 403
    posted = await compliance.post(f"/proposals/{proposal['id']}/decide", {"decision": "approve", "version": "1"})
    assert posted.status_code == 403


@pytest.mark.parametrize(("who", "sees"), [("lead", False), ("sony", False), ("compliance", True),
                                         ("admin", True)])
async def test_only_compliance_and_admins_get_the_link_to_temporals_web_ui(api, browser, app, who, sees):
    """The Web UI has no sign-in and shows every label's proposals."""
    app.state.settings.temporal_ui_url = "http://127.0.0.1:8233/"
    proposal = await submit(api, parties=["sony"])
    link = f'href="http://127.0.0.1:8233/namespaces/default/workflows/proposal-{proposal["id"]}"'
    viewer = await browser(who)
    pages = [f"/proposals/{proposal['id']}"]
    if sees:  # the audit trail is theirs alone
        pages.append(f"/compliance/proposals/{proposal['id']}")
    for path in pages:
        page = await viewer.get(path)
        assert page.status_code == 200, path
        assert (link in page.text) == sees, path
        assert ("Temporal's Web UI" in page.text) == sees, path


async def test_proposal_page_shows_due_dates_in_the_labels_time_zone_and_utc(api, browser):
    proposal = await submit(api, parties=["universal", "believe"])
    page = (await (await browser("lead")).get(f"/proposals/{proposal['id']}")).text
    assert re.search(r"\d{2}:\d{2} (PST|PDT)", page)  # Universal: America/Los_Angeles
    assert re.search(r"\d{2}:\d{2} (CET|CEST)", page)  # Believe: Europe/Paris
    assert re.search(r"\d{2}:\d{2} UTC", page)
    assert "Upfront agreements" in page and "Licensed stems supplied by each label" in page
    assert 'href="/proposals/{}/versions/1"'.format(proposal["id"]) in page


async def test_leads_see_only_their_own_proposals(api, browser, engine, users):
    factories.user(engine, "lead", email="other.lead@example.com")
    await submit(api, title="Mine")
    other = await browser()
    await other.login("other.lead@example.com")
    response = await other.post("/proposals/new", form_body(title="Theirs"))
    assert response.status_code == 303
    mine = (await (await browser("lead")).get("/")).text
    assert "Mine" in mine and "Theirs" not in mine
    assert "New proposal" in mine
    theirs_id = response.headers["location"].rsplit("/", 1)[1]
    assert (await (await browser("lead")).get(f"/proposals/{theirs_id}")).status_code == 404
    everyone = (await (await browser("admin")).get("/")).text
    assert "Mine" in everyone and "Theirs" in everyone


# -- withdraw, acknowledge, resubmit -------------------------------------------


async def test_lead_withdraws_through_the_form(api, browser):
    proposal = await submit(api, parties=["sony"])
    lead = await browser("lead")
    page = await lead.get(f"/proposals/{proposal['id']}")
    assert "Withdraw the proposal" in page.text
    response = await lead.post(f"/proposals/{proposal['id']}/withdraw", {"reason": "Paused for now"},
                               token=csrf_of(page.text))
    assert response.status_code == 303
    after = await lead.get(f"/proposals/{proposal['id']}")
    assert "was withdrawn" in after.text and "chip-withdrawn" in after.text
    assert "Withdraw the proposal" not in after.text
    again = await lead.post(f"/proposals/{proposal['id']}/withdraw", {"reason": "again"})
    assert again.status_code == 409 and "withdrawn" in again.text
    assert (await (await browser("sony")).post(f"/proposals/{proposal['id']}/withdraw")).status_code == 403


async def test_lead_acknowledges_conditions_through_the_form(api, browser):
    proposal = await submit(api, parties=["merlin"])
    decided = await api("merlin").post(f"/api/v1/proposals/{proposal['id']}/decisions",
                                       json={"decision": "approve_with_conditions", "comment": "Credit Merlin"})
    assert decided.status_code == 201, decided.text
    lead = await browser("lead")
    assert "Conditions to acknowledge" in (await lead.get("/")).text
    page = await lead.get(f"/proposals/{proposal['id']}")
    assert "Credit Merlin" in page.text and "Acknowledge the conditions" in page.text
    response = await lead.post(f"/proposals/{proposal['id']}/acknowledge", token=csrf_of(page.text))
    assert response.status_code == 303
    after = (await lead.get(f"/proposals/{proposal['id']}")).text
    assert "You acknowledged the conditions" in after
    assert (await api("lead").get(f"/api/v1/proposals/{proposal['id']}")).json()["status"] == "approved"


async def test_lead_resubmits_through_the_prefilled_form(api, browser):
    proposal = await submit(api, parties=["sony", "warner"])
    changes = await api("sony").post(f"/api/v1/proposals/{proposal['id']}/decisions",
                                     json={"decision": "request_changes", "comment": "Say how artists opt out"})
    assert changes.status_code == 201, changes.text
    lead = await browser("lead")
    assert "Submit a new version" in (await lead.get("/")).text
    form = await lead.get(f"/proposals/{proposal['id']}/resubmit")
    assert form.status_code == 200
    assert 'value="AI remix studio"' in form.text and "Say how artists opt out" in form.text
    assert "Artists opt in per release." in form.text

    fields = form_body(title="AI remix studio v2", parties=["sony", "warner"],
                       **{"checklist.artist_choice": "Opt out any time in the artist portal."})
    bad = await lead.post(f"/proposals/{proposal['id']}/resubmit", {**fields, "summary": ""},
                          token=csrf_of(form.text))
    assert bad.status_code == 422 and 'id="f-summary-error"' in bad.text and "AI remix studio v2" in bad.text
    response = await lead.post(f"/proposals/{proposal['id']}/resubmit", fields, token=csrf_of(form.text))
    assert response.status_code == 303, response.text
    page = (await lead.get(f"/proposals/{proposal['id']}")).text
    assert "<h1>AI remix studio v2</h1>" in page
    assert "Version 2" in page and "Opt out any time in the artist portal." in page
    first = await lead.get(f"/proposals/{proposal['id']}/versions/1")
    assert first.status_code == 200 and "Artists opt in per release." in first.text
    assert "earlier version" in first.text
    assert (await lead.get(f"/proposals/{proposal['id']}/resubmit")).status_code == 409


# -- headers -------------------------------------------------------------------


async def test_security_headers_on_every_response(browser):
    anonymous = await browser()
    for url in ("/login", "/", "/static/style.css", "/api/v1/proposals"):
        response = await anonymous.get(url)
        headers = response.headers
        assert headers["x-frame-options"] == "DENY", url
        assert headers["x-content-type-options"] == "nosniff", url
        assert headers["referrer-policy"] == "same-origin", url
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    login = await anonymous.get("/login")
    assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", login.text), "inline or foreign script"
    assert "style=" not in login.text
    assert login.headers["cache-control"] == "no-store"
