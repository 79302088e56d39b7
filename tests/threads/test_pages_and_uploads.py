"""The thread's form without JavaScript (multipart, CSRF), the lead's open questions on the dashboard,
and uploads refused whole: too large (413), a refused type (422), nothing stored of either."""

from __future__ import annotations

import html
import re

import pytest
from sqlmodel import Session, select

from countersign.storage.message_tables import Message, StoredFile
from tests import factories
from tests.web_client import csrf_of


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"max_upload_bytes": 64 * 1024})  # a small limit: a small upload passes it


async def test_a_rep_asks_on_the_page_and_the_lead_sees_it_open_then_answers(api, browser, engine, settings):
    pid = (await api("lead").post("/api/v1/proposals", json=factories.submission())).json()["id"]
    sony = await browser("sony")
    page = await sony.get(f"/proposals/{pid}")
    assert 'enctype="multipart/form-data"' in page.text
    sent = await sony.client.post(f"/proposals/{pid}/messages", data={
        "csrf_token": csrf_of(page.text), "text": "Which stems? see list", "visibility": "label_lead",
        "question": "on"}, files={"file": ("stems.csv", b"stem,artist\n1,A\n", "application/octet-stream")})
    assert sent.status_code == 303, sent.text
    lead = await browser("lead")
    dashboard = html.unescape((await lead.get("/")).text)
    assert "Open questions (1)" in dashboard and "rep.sony@example.com" in dashboard
    detail = html.unescape((await lead.get(f"/proposals/{pid}")).text)
    assert "Which stems? see list" in detail and "stems.csv" in detail and "open question" in detail
    root = re.search(r'<option value="(\d+)"[^>]*>thread #', detail).group(1)
    answered = await lead.client.post(f"/proposals/{pid}/messages", data={  # the form's visibility is for new threads
        "csrf_token": csrf_of(detail), "text": "All of them", "reply_to": root, "visibility": "all"})
    assert answered.status_code == 303
    assert "Open questions" not in (await lead.get("/")).text
    fragment = html.unescape((await lead.get(f"/proposals/{pid}/thread")).text)  # what the poller swaps in
    assert "All of them" in fragment and "answered question" in fragment and "<form" not in fragment
    # Without the form's token nothing is posted; a refused mention shows the page again, saying why.
    forged = await sony.client.post(f"/proposals/{pid}/messages", data={"text": "forged"})
    assert forged.status_code == 403
    refused = await sony.client.post(f"/proposals/{pid}/messages", data={
        "csrf_token": csrf_of(page.text), "text": "hi @rep.universal@example.com", "visibility": "label"})
    assert refused.status_code == 422 and "cannot see a label message of sony" in html.unescape(refused.text)
    assert "hi @rep.universal@example.com" in html.unescape(refused.text)  # what was typed, kept
    attached = await lead.client.post(f"/proposals/{pid}/files", data={"csrf_token": csrf_of(detail)},
                                      files={"file": ("model card.pdf", b"%PDF-1.5 card", "application/pdf")})
    assert attached.status_code == 303, attached.text
    sony_view = html.unescape((await sony.get(f"/proposals/{pid}")).text)
    assert "model card.pdf" in sony_view  # a version's file: everyone's on the proposal
    assert re.search(r'Files added: <a href="/proposals/\d+/files/\d+">model card.pdf</a>', sony_view)
    universal = html.unescape((await (await browser("universal")).get(f"/proposals/{pid}")).text)
    assert "Which stems" not in universal and "stems.csv" not in universal and "All of them" not in universal
    with Session(engine) as session:
        assert [m.text_sha256 is not None for m in session.exec(select(Message))] == [True, True]


async def test_refused_uploads_store_nothing(api, engine, settings):
    lead = api("lead")
    pid = (await lead.post("/api/v1/proposals", json=factories.submission())).json()["id"]
    too_big = await lead.post(f"/api/v1/proposals/{pid}/files",
                              files={"file": ("big.txt", b"a" * (settings.max_upload_bytes + 1), "text/plain")})
    assert too_big.status_code == 413 and "larger than" in too_big.json()["detail"]
    svg = await lead.post(f"/api/v1/proposals/{pid}/files",
                          files={"file": ("cat.png", b"<svg onload='alert(1)'></svg>", "image/png")})
    assert svg.status_code == 422 and "not accepted" in svg.json()["detail"]
    rep_on_version = await api("sony").post(f"/api/v1/proposals/{pid}/files",
                                            files={"file": ("a.txt", b"text", "text/plain")})
    assert rep_on_version.status_code == 403
    with Session(engine) as session:
        assert session.exec(select(StoredFile)).all() == []
    assert not (settings.data_dir / "files").exists() or not any((settings.data_dir / "files").rglob("*.*"))
    twice = [await lead.post(f"/api/v1/proposals/{pid}/files", files={"file": ("n.txt", b"notes", "text/plain")})
             for _ in range(2)]
    assert [r.status_code for r in twice] == [201, 201] and twice[0].json()["sha256"] == twice[1].json()["sha256"]
    assert [p.name for p in (settings.data_dir / "files").rglob("*") if p.is_file()] == [twice[0].json()["sha256"]]
