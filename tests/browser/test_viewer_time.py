"""A deadline shows once, in the viewer's own time zone with how far off it is;
the label's time is in its title and in what a screen reader reads (a lead in
Tokyo reading Believe's Paris deadline)."""

from __future__ import annotations

import re

from countersign.storage.accounts import create_token
from countersign.storage.db import transaction
from tests import factories
from tests.browser.conftest import DESKTOP, shoot


def test_due_dates_in_the_viewers_time_zone(chromium, live_server):
    import httpx

    with transaction(live_server.engine) as session:
        token = create_token(session, "lead@example.com")
    response = httpx.post(f"{live_server.url}/api/v1/proposals", json=factories.submission(parties=["believe"]),
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 201, response.text
    proposal_id = response.json()["id"]

    def journey(browser):
        context = browser.new_context(base_url=live_server.url, viewport=DESKTOP, timezone_id="Asia/Tokyo")
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("E-mail address").fill("lead@example.com")
        page.get_by_label("Password").fill(factories.PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r".*/(\?.*)?$"))
        page.goto(f"/proposals/{proposal_id}")
        due = page.locator("time[data-viewer][data-zone='Europe/Paris']").first
        page.wait_for_function("document.querySelector(\"time[data-viewer][data-zone='Europe/Paris']\").textContent.includes('GMT+9')")
        assert "GMT+9" in due.inner_text()  # the viewer's time, once
        assert re.search(r"C?ES?T|GMT\+1|GMT\+2", due.get_attribute("title"))  # the label's own time on hover
        line = due.locator("xpath=..")
        assert re.search(r"in the label's time, .*(C?ES?T|GMT\+1|GMT\+2)", line.text_content())  # and read out
        assert re.search(r"\(in \d+ (day|hour)", line.inner_text())  # with how far off it is
        shoot(page, "proposal-viewer-time-tokyo")
        context.close()

    chromium(journey)
