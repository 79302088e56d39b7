"""The top of a proposal page answers first, to every role: where it is, who
it waits on, what the viewer can do (issue 25)."""

from __future__ import annotations

import re

from tests.api.test_pages import submit
from tests.web_client import csrf_of


def summary_of(html: str) -> str:
    """The summary box's text, tags and runs of spaces gone."""
    match = re.search(r'<section class="summary card".*?</section>', html, re.S)
    assert match, "no summary on the page"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(0)))


async def test_summary_names_who_it_waits_on_and_decided_slots_show_no_due_date(api, browser):
    proposal = await submit(api, parties=["sony", "warner"])
    decided = await api("sony").post(f"/api/v1/proposals/{proposal['id']}/decisions", json={"decision": "approve"})
    assert decided.status_code == 201, decided.text
    warner = (await (await browser("warner")).get(f"/proposals/{proposal['id']}")).text
    summary = summary_of(warner)
    assert "Warner Music Group" in summary and "Sony Music Group" not in summary
    assert "Decide for Warner Music Group" in summary
    # One deadline (Warner's) in each of the summary, the next deadlines, the labels table and the stage
    # matrix: Sony's, decided, is gone.
    assert warner.count('class="due-at"') == 4
    sony = summary_of((await (await browser("sony")).get(f"/proposals/{proposal['id']}")).text)
    assert "Nothing is needed from you now: Sony Music Group is not among the labels it waits on" in sony
    lead = summary_of((await (await browser("lead")).get(f"/proposals/{proposal['id']}")).text)
    assert "Warner Music Group" in lead and "Nothing is needed from you now." in lead


async def test_a_proposal_held_only_by_conditions_says_so_to_every_role(api, browser):
    proposal = await submit(api, parties=["merlin"])
    decided = await api("merlin").post(f"/api/v1/proposals/{proposal['id']}/decisions",
                                       json={"decision": "approve_with_conditions", "comment": "Credit Merlin"})
    assert decided.status_code == 201, decided.text
    for role in ("lead", "merlin", "compliance", "admin"):
        summary = summary_of((await (await browser(role)).get(f"/proposals/{proposal['id']}")).text)
        assert "held only by 1 condition" in summary, (role, summary)
    lead = summary_of((await (await browser("lead")).get(f"/proposals/{proposal['id']}")).text)
    assert "Acknowledge the conditions" in lead


async def test_a_withdrawn_proposal_shows_the_reason_given(api, browser):
    proposal = await submit(api, parties=["sony"])
    lead = await browser("lead")
    page = await lead.get(f"/proposals/{proposal['id']}")
    response = await lead.post(f"/proposals/{proposal['id']}/withdraw", {"reason": "Paused until the spring"},
                               token=csrf_of(page.text))
    assert response.status_code == 303
    for role in ("lead", "sony", "compliance"):
        summary = summary_of((await (await browser(role)).get(f"/proposals/{proposal['id']}")).text)
        assert "withdrew it" in summary and "Paused until the spring" in summary, (role, summary)
