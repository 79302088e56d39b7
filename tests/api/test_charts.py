"""Compliance charts: SVG drawn on the server, with the figures as tables beside them."""

from __future__ import annotations

from api.deps import current_time
from api.templating import utc
from tests.api.test_pages import submit


async def test_compliance_charts_show_each_label_and_status(app, temporal_env, api, browser):
    proposal = await submit(api, parties=["sony", "merlin"])
    for party, decision in (("sony", "approve"), ("merlin", "approve")):
        response = await api(party).post(f"/api/v1/proposals/{proposal['id']}/decisions",
                                         json={"decision": decision})
        assert response.status_code == 201, response.text
    # The workflow recorded the decisions and the conclusion on the test
    # server's clock, which earlier tests may have skipped far past the wall
    # clock: the charts count up to that time, not to the wall clock's.
    workflow_now = await temporal_env.get_current_time()
    app.dependency_overrides[current_time] = lambda: workflow_now
    compliance = await browser("compliance")
    page = await compliance.get("/compliance/charts")
    assert page.status_code == 200
    text = page.text
    assert f"Figures as of {utc(workflow_now)}" in text
    assert text.count("<svg") == 3 and 'role="img"' in text and "<script" not in text.split("</head>")[1]
    assert "Time to decision" in text and "Decided by the due time" in text and "Proposals by status" in text
    assert "100%" in text and "1 of 1" in text  # Sony and Merlin each decided once, in time
    assert "chart-status-approved" in text
    assert (await compliance.get("/compliance/charts?weeks=52")).status_code == 200
    assert (await compliance.get("/compliance/charts?weeks=1000")).status_code == 422
    lead = await browser("lead")
    assert (await lead.get("/compliance/charts")).status_code == 403
    sony = await browser("sony")
    assert (await sony.get("/compliance/charts")).status_code == 403
