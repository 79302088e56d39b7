"""Admins read the mail outbox on a page; with no SMTP server configured the
mail stays there, unsent."""

from __future__ import annotations

from tests.api.test_pages import submit


async def test_admin_reads_the_outbox(api, browser):
    proposal = await submit(api, parties=["sony"], title="Stem separation for remixes")
    admin = await browser("admin")
    page = await admin.client.get("/admin/outbox")
    assert page.status_code == 200
    assert "No SMTP server is configured" in page.text
    assert "rep.sony@example.com" in page.text  # the routed mail to Sony's rep
    assert "Decision needed: Stem separation for remixes" in page.text
    assert f"/proposals/{proposal['id']}" in page.text
    assert "Decide here: http" in page.text and "&lt;p&gt;" not in page.text  # the text part, not the HTML
    waiting = await admin.client.get("/admin/outbox", params={"state": "sent"})
    assert "No mail in this view" in waiting.text


async def test_only_admins_read_the_outbox(browser):
    for who in ("lead", "sony", "compliance"):
        page = await (await browser(who)).client.get("/admin/outbox")
        assert page.status_code == 403
