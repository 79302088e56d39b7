"""Issue 5's "done when", as a compliance user would do it in a browser: find
a proposal by label and by person, read its timeline beside its Temporal
history, export it, verify the export offline, print its certificate."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import httpx

from countersign.storage.accounts import create_token
from countersign.storage.db import transaction
from tests import factories
from tests.browser.conftest import login, shoot


def test_compliance_finds_reads_exports_and_verifies(chromium, live_server, tmp_path):
    tokens = {}
    with transaction(live_server.engine) as session:
        for who in ("lead", "rep.merlin"):
            tokens[who] = create_token(session, f"{who}@example.com", scopes=factories.token_scopes(session, f"{who}@example.com"))
    title = f"Voice safety filter {uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        created = client.post("/api/v1/proposals", json=factories.submission(parties=["merlin"], title=title),
                              headers={"Authorization": f"Bearer {tokens['lead']}"})
        assert created.status_code == 201, created.text
        proposal_id = created.json()["id"]
        decided = client.post(f"/api/v1/proposals/{proposal_id}/decisions",
                              json={"decision": "approve", "comment": "Cleared by Merlin legal."},
                              headers={"Authorization": f"Bearer {tokens['rep.merlin']}"})
        assert decided.status_code == 201 and decided.json()["status"] == "approved", decided.text
    export = tmp_path / "export.jsonl"

    def journey(browser):
        page = login(browser, live_server.url, "compliance@example.com")
        page.get_by_role("link", name="Audit").click()
        page.wait_for_url("**/compliance")
        page.get_by_label("Label whose catalog it touches").select_option("merlin")
        page.get_by_label("Person (e-mail or name)").fill("rep.merlin@example.com")
        page.get_by_role("button", name="Search").click()
        page.get_by_role("link", name=title).first.click()
        page.wait_for_url(f"**/compliance/proposals/{proposal_id}")
        assert page.get_by_role("heading", name="Audit trail").is_visible()
        assert page.get_by_role("heading", name="Temporal event history").is_visible()
        assert "Cleared by Merlin legal." in page.content()
        shoot(page, "compliance-timeline")

        page.goto(f"/compliance?proposal={proposal_id}")
        with page.expect_download() as download:
            page.get_by_role("link", name="JSON Lines").first.click()
        download.value.save_as(export)

        page.goto(f"/compliance/proposals/{proposal_id}/certificate")
        assert "Cleared by Merlin legal." in page.content()
        shoot(page, "compliance-certificate")
        page.context.close()

    chromium(journey)

    # Offline: the export file alone, no database, no Temporal.
    verified = subprocess.run([sys.executable, "-m", "api.cli", "audit", "verify", "--file", str(export)],
                              capture_output=True, text=True, cwd=tmp_path,
                              env={"PATH": "/usr/bin:/bin", "COUNTERSIGN_DATA_DIR": str(tmp_path / "nowhere")})
    assert verified.returncode == 0, verified.stdout + verified.stderr
    lines = export.read_text().splitlines()
    assert any("Cleared by Merlin legal." in line for line in lines)
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join(line.replace("Cleared by Merlin legal.", "Cleared.") for line in lines) + "\n")
    refused = subprocess.run([sys.executable, "-m", "api.cli", "audit", "verify", "--file", str(tampered)],
                             capture_output=True, text=True, cwd=tmp_path,
                             env={"PATH": "/usr/bin:/bin", "COUNTERSIGN_DATA_DIR": str(tmp_path / "nowhere")})
    assert refused.returncode != 0 and "seq" in (refused.stdout + refused.stderr)
    assert Path(export).stat().st_size > 0
