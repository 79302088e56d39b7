"""The rep's inbox, the lead's matrices, the proposal's whole story and the
fragments the pages poll for live updates."""

from __future__ import annotations

from api.routes.proposal_pages import word_diff
from tests.api.test_pages import form_body, submit
from tests.web_client import csrf_of


def test_word_diff_marks_what_changed():
    assert word_diff("Artists opt in per release.", "Artists opt out any time.") == [
        ("same", "Artists opt "), ("del", "in per release."), ("ins", "out any time."),
    ]
    assert word_diff("same", "same") == [("same", "same")]


async def test_rep_inbox_soonest_due_first_with_a_count_in_the_navigation(api, browser):
    first = await submit(api, parties=["sony"], title="First in")
    second = await submit(api, parties=["sony", "merlin"], title="Second in")
    sony = await browser("sony")
    page = await sony.get("/inbox")
    assert page.status_code == 200
    text = page.text
    assert text.index("First in") < text.index("Second in")  # same due date: by id
    assert f'href="/proposals/{first["id"]}/decide"' in text and f'href="/proposals/{second["id"]}/decide"' in text
    assert "left</strong>" in text and "EST" in text  # time left, in Sony's own time zone
    assert 'data-inbox-count>2<' in text
    assert 'data-live="/live/inbox?page=1"' in text

    merlin = await browser("merlin")
    merlin_inbox = (await merlin.get("/inbox")).text
    assert "Second in" in merlin_inbox and "First in" not in merlin_inbox and "GMT" in merlin_inbox

    fragment = await sony.get("/live/inbox")
    assert fragment.status_code == 200 and fragment.headers["x-inbox-count"] == "2"
    assert "<html" not in fragment.text and "First in" in fragment.text

    lead = await browser("lead")
    assert (await lead.get("/inbox")).status_code == 403


async def test_lead_dashboard_shows_a_stage_matrix_and_what_was_asked(api, browser):
    proposal = await submit(api, parties=["sony", "warner"], title="Matrix me")
    asked = await api("sony").post(f"/api/v1/proposals/{proposal['id']}/decisions",
                                   json={"decision": "request_changes", "comment": "Name the licence"})
    assert asked.status_code == 201, asked.text
    lead = await browser("lead")
    text = (await lead.get("/")).text
    assert 'aria-label="Stages and labels of Matrix me"' in text
    assert "Needs your action" in text and "Name the licence" in text
    fragment = await lead.get("/live/dashboard")
    assert fragment.status_code == 200 and "Matrix me" in fragment.text and "<html" not in fragment.text
    assert "x-inbox-count" not in fragment.headers
    assert (await lead.get("/?page=0")).status_code == 404 or (await lead.get("/?page=0")).status_code == 422


async def test_proposal_page_tells_the_whole_story(api, browser):
    proposal = await submit(api, parties=["sony"], title="Story")
    await api("sony").post(f"/api/v1/proposals/{proposal['id']}/decisions",
                           json={"decision": "request_changes", "comment": "Say how artists opt out"})
    lead = await browser("lead")
    form = await lead.get(f"/proposals/{proposal['id']}/resubmit")
    fields = form_body(title="Story", parties=["sony"],
                       **{"checklist.artist_choice": "Opt out any time in the artist portal."})
    response = await lead.post(f"/proposals/{proposal['id']}/resubmit", fields, token=csrf_of(form.text))
    assert response.status_code == 303, response.text
    page = (await lead.get(f"/proposals/{proposal['id']}")).text
    assert "What changed since version 1" in page
    assert "<del><span class=\"visually-hidden\">removed: </span>" in page and "<ins>" in page
    assert "Opt out any time in the artist portal." in page
    assert "Next deadlines" in page and "Reminders and escalations sent" in page
    assert "Say how artists opt out" in page  # the decision with its comment
    live = await lead.get(f"/proposals/{proposal['id']}/live")
    assert live.status_code == 200 and "<html" not in live.text and "Next deadlines" in live.text
    assert (await lead.get("/proposals/999999999/live")).status_code == 404
