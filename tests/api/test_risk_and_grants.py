"""Issue 26's "Done when", end to end on the shared test server: a policy whose
tiers and expiries are in seconds (tests/policies/tiers_seconds.toml). A
voice-synthesis proposal at broad scope gets the extra stage the preview
showed; a material resubmission reopens stage one and a cosmetic one does
not; after approval the check says allowed, then denied after one label
revokes, and denied for everyone after expiry."""

from __future__ import annotations

import asyncio
import hashlib
import html
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.cli_audit import audit_app
from api.deps import current_time
from countersign.domain.policy import load_policy
from countersign.storage.tables import AuditEntry
from tests import factories
from tests.web_client import csrf_of
from workflows.history import reconcile_proposal

POLICY_FILE = factories.POLICIES / "tiers_seconds.toml"
POLICY = load_policy(POLICY_FILE)
LABELS = ("sony", "universal", "warner")
FIRST, COUNCIL, EXECUTIVE = "Rights & licensing review", "Artist council", "Executive approval"


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"policy": POLICY_FILE})


@pytest.fixture
def users(engine):
    return factories.all_users(engine, POLICY)


def voice_body(**overrides) -> dict:
    return factories.submission(POLICY, **{"capability": "voice", "synthesises": ["voice"],
                                           "launch_scope": "broad_rollout", **overrides})


async def decide(api, pid: int, party: str, decision: str = "approve", comment: str = "") -> dict:
    response = await api(party).post(f"/api/v1/proposals/{pid}/decisions",
                                     json={"decision": decision, "comment": comment})
    assert response.status_code == 201, response.text
    return response.json()


async def check(api, pid: int, party: str, scope: str = "broad_rollout", who: str = "lead") -> dict:
    response = await api(who).get("/api/v1/grants/check", params={"proposal": pid, "party": party, "scope": scope})
    assert response.status_code == 200, response.text
    return response.json()


async def test_tiers_route_material_changes_reopen_and_grants_end(app, api, browser, temporal_env, engine):
    lead = api("lead")
    # The preview: high risk, the artist council added by the rule that said so.
    preview = (await lead.post("/api/v1/proposals/preview", json=voice_body())).json()
    assert preview["tier"] == "high" and preview["submittable"] is True and preview["reason"] is None
    assert [s["name"] for s in preview["stages"]] == [FIRST, COUNCIL, EXECUTIVE]
    council = preview["stages"][1]
    assert council["added_by"] == "synthetic-voice-beyond-sandbox" and council["parties"] == list(LABELS)
    assert preview["stages"][2]["rule"] == "all" and preview["stages"][2]["rule_set_by"] == council["added_by"]
    assert preview["stages"][0]["added_by"] == "policy" and set(preview["stages"][0]["due_at"]) == set(LABELS)

    # Submitting does what the preview showed.
    submitted = await lead.post("/api/v1/proposals", json=voice_body())
    assert submitted.status_code == 201, submitted.text
    proposal = submitted.json()
    pid = proposal["id"]
    assert proposal["tier"] == "high" and proposal["route"]["rules"] == ["synthetic-voice-beyond-sandbox", "broad-rollout"]
    assert [(s["name"], s["rule"], s["added_by"]) for s in proposal["route"]["stages"]] == [
        (s["name"], s["rule"], s["added_by"]) for s in preview["stages"]]

    for party in LABELS:
        proposal = await decide(api, pid, party)
    assert proposal["stage"] == COUNCIL  # the extra stage, after stage one
    await decide(api, pid, "universal")
    await decide(api, pid, "sony", "request_changes", "Name the voice actors")

    # An unchanged resubmission is refused; a cosmetic one reopens nothing approved.
    unchanged = await lead.post(f"/api/v1/proposals/{pid}/resubmit", json=voice_body())
    assert unchanged.status_code == 422 and "same as version 1" in unchanged.json()["detail"]
    unacceptable = await lead.post(f"/api/v1/proposals/{pid}/resubmit", json=voice_body(user_uploads=True))
    assert unacceptable.status_code == 422 and "voice-from-user-uploads" in unacceptable.json()["detail"]
    cosmetic = await lead.post(f"/api/v1/proposals/{pid}/resubmit", json=voice_body(summary="Voice actors named."))
    assert cosmetic.status_code == 200, cosmetic.text
    proposal = cosmetic.json()
    assert proposal["stage"] == COUNCIL and proposal["version"] == 2
    assert {p: s["state"] for p, s in proposal["parties"].items()} == {
        "sony": "pending", "universal": "approved", "warner": "pending"}

    # A material change (compensation) reopens stage one for every party.
    await decide(api, pid, "sony", "request_changes", "Pay the voice actors")
    material = voice_body(summary="Voice actors named.",
                          checklist={**voice_body()["checklist"], "compensation": "Voice actors paid per use."})
    reopened = await lead.post(f"/api/v1/proposals/{pid}/resubmit", json=material)
    assert reopened.status_code == 200, reopened.text
    proposal = reopened.json()
    assert proposal["stage"] == FIRST and proposal["version"] == 3
    assert {s["state"] for s in proposal["parties"].values()} == {"pending"}
    with Session(engine) as session:
        resubmitted = session.exec(select(AuditEntry).where(AuditEntry.proposal_id == pid,
                                                            AuditEntry.kind == "resubmitted")).all()
    assert [e.detail["material"] for e in resubmitted] == ["", "checklist.compensation"]
    page = html.unescape((await (await browser("lead")).get(f"/proposals/{pid}")).text)
    assert page.count("on version 1") == 4 and page.count("on version 2") == 1  # stage one's and the council's approvals
    with Session(engine) as session:
        routed = session.exec(select(AuditEntry).where(AuditEntry.proposal_id == pid, AuditEntry.kind == "routed")).all()
    assert [e.detail.get("added_by") for e in routed][:2] == [None, "synthetic-voice-beyond-sandbox"]

    # Through the route again; Universal's condition becomes an obligation.
    for stage in (FIRST, COUNCIL):
        for party in LABELS:
            await decide(api, pid, party)
    await decide(api, pid, "sony")
    await decide(api, pid, "warner")
    await decide(api, pid, "universal", "approve_with_conditions", "Report takedowns monthly")
    acknowledged = await lead.post(f"/api/v1/proposals/{pid}/acknowledge")
    assert acknowledged.json()["status"] == "approved"

    workflow_now = await temporal_env.get_current_time()
    app.dependency_overrides[current_time] = lambda: workflow_now
    proposal = await wait_for(lead, pid, lambda p: set(p["grants"]) == set(LABELS))
    assert {g["state"] for g in proposal["grants"].values()} == {"active"}
    assert proposal["grants"]["sony"]["scope"] == "broad_rollout"
    [obligation] = proposal["obligations"]
    assert (obligation["party"], obligation["state"]) == ("universal", "open")
    assert await check(api, pid, "sony") == {"allowed": True, "reason": "granted",
                                             "grant": (await check(api, pid, "sony"))["grant"]}
    assert (await check(api, pid, "sony", scope="pilot"))["allowed"] is True

    # Evidence: the lead submits it, only Universal's reps may accept it.
    evidence = await lead.post(f"/api/v1/proposals/{pid}/obligations/1/evidence", json={"text": "Report for May."})
    assert evidence.status_code == 200 and evidence.json()["obligations"][0]["state"] == "submitted"
    assert (await api("sony").post(f"/api/v1/proposals/{pid}/obligations/1/accept", json={})).status_code == 403
    accepted = await api("universal").post(f"/api/v1/proposals/{pid}/obligations/1/accept", json={})
    assert accepted.json()["obligations"][0]["state"] == "accepted"

    # One label revokes: denied for it alone. Only its own reps may.
    assert (await api("sony").post(f"/api/v1/proposals/{pid}/grants/warner/revoke",
                                   json={"reason": "not ours"})).status_code == 403
    revoked = await api("warner").post(f"/api/v1/proposals/{pid}/grants/warner/revoke",
                                       json={"reason": "Artist withdrew consent"})
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["grants"]["warner"]["state"] == "revoked"
    assert (await check(api, pid, "warner"))["reason"] == "revoked"
    assert (await check(api, pid, "sony"))["allowed"] is True

    # After expiry: denied for everyone.
    await temporal_env.sleep(timedelta(seconds=310))
    workflow_now = await temporal_env.get_current_time()
    app.dependency_overrides[current_time] = lambda: workflow_now
    await wait_for(lead, pid, lambda p: p["grants"]["sony"]["state"] == "expired")
    for party in LABELS:
        answer = await check(api, pid, party)
        assert answer["allowed"] is False and answer["reason"] in ("expired", "revoked"), answer
    with Session(engine) as session:
        kinds = session.exec(select(AuditEntry.kind).where(AuditEntry.proposal_id == pid)).all()
    assert {"grant_issued", "obligation_set", "evidence_submitted", "evidence_accepted", "grant_revoked",
            "grant_expiry_reminded", "grant_expired"} <= set(kinds)

    # Every grant change is on the chain, agrees with the workflow's history, and is in the export.
    with Session(engine) as session:
        _, disagreements = await reconcile_proposal(temporal_env.client, session, pid)
    assert disagreements == []
    compliance = await browser("compliance")
    timeline = await compliance.get(f"/compliance/proposals/{pid}")
    assert timeline.status_code == 200 and "Artist withdrew consent" in html.unescape(timeline.text)
    exported = await api("compliance").get("/api/v1/audit/export", params={"format": "jsonl"})
    assert exported.status_code == 200 and '"grant_revoked"' in exported.text and "Artist withdrew consent" in exported.text


async def test_an_unacceptable_proposal_is_refused_naming_the_rule(app, api):
    body = voice_body(user_uploads=True, data_sources="Fans upload their own vocals.")
    preview = (await api("lead").post("/api/v1/proposals/preview", json=body)).json()
    assert preview["tier"] == "unacceptable" and preview["submittable"] is False
    assert "voice-from-user-uploads" in preview["reason"]
    refused = await api("lead").post("/api/v1/proposals", json=body)
    assert refused.status_code == 422 and "voice-from-user-uploads" in refused.json()["detail"]
    assert (await api("sony").post("/api/v1/proposals/preview", json=body)).status_code == 403


async def test_a_check_only_token_is_refused_everywhere_else(app, api, engine, users):
    from countersign.storage.accounts import create_token
    from countersign.storage.db import transaction
    with transaction(engine) as session:
        token = create_token(session, users["sony"].email, scopes=["grants:check"])
    client = api("sony")
    client.headers["Authorization"] = f"Bearer {token}"
    answer = await client.get("/api/v1/grants/check", params={"proposal": 999, "party": "sony"})
    assert answer.json() == {"allowed": False, "reason": "no_grant", "grant": None}
    refused = await client.get("/api/v1/proposals")
    assert refused.status_code == 403 and "limited to grants:check" in refused.json()["detail"]


async def wait_for(client, pid: int, condition, timeout: float = 10.0) -> dict:
    """The proposal once `condition` holds: a timer's step is recorded just after the clock moves."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        proposal = (await client.get(f"/api/v1/proposals/{pid}")).json()
        if condition(proposal):
            return proposal
        assert asyncio.get_running_loop().time() < deadline, proposal
        await asyncio.sleep(0.05)


def form_of(body: dict) -> dict:
    """A submit body as the new-proposal form posts it."""
    fields = {key: body[key] for key in ("title", "summary", "capability", "data_sources", "launch_scope")}
    fields |= {"parties": body["parties"], "requested_decision_date": "", "synthesises": body["synthesises"],
               "markets": ", ".join(body["markets"])}
    fields |= {f"checklist.{key}": value for key, value in body["checklist"].items()}
    return fields


async def test_the_pages_preview_the_route_and_show_tier_diff_grants_and_obligations(app, api, browser):
    lead = await browser("lead")
    form = await lead.get("/proposals/new")
    assert 'formaction="/proposals/new/preview"' in form.text and 'name="synthesises"' in form.text
    shown = await lead.post("/proposals/new/preview", form_of(voice_body(markets=["GB"])), token=csrf_of(form.text))
    assert shown.status_code == 200, shown.text
    text = html.unescape(shown.text)
    assert "Route preview" in text and "chip-tier-high" in text and "synthetic-voice-beyond-sandbox" in text
    assert text.index("Rights & licensing review") < text.index("Artist council") < text.index("Executive approval")
    refused = await lead.post("/proposals/new/preview", form_of(voice_body()) | {"user_uploads": "yes"},
                              token=csrf_of(form.text))
    assert "cannot be submitted" in html.unescape(refused.text) and "voice-from-user-uploads" in refused.text

    pid = (await api("lead").post("/api/v1/proposals", json=voice_body(launch_scope="internal_sandbox"))).json()["id"]
    page = html.unescape((await lead.get(f"/proposals/{pid}")).text)
    assert "Risk and route" in page and "chip-tier-minimal" in page and "no risk rule matched" in page
    await decide(api, pid, "sony", "request_changes", "Say where it launches")
    # Widening the scope: material, and now high risk.
    widened = await api("lead").post(f"/api/v1/proposals/{pid}/resubmit", json=voice_body(summary="Broad now."))
    assert widened.json()["tier"] == "high" and widened.json()["stage"] == FIRST
    sony = await browser("sony")
    decide_page = html.unescape((await sony.get(f"/proposals/{pid}/decide")).text)
    assert "What changed since version 1, the last one you saw" in decide_page and "material change" in decide_page
    assert decide_page.count('class="chip chip-material"') == 1  # launch scope; the summary is not material

    for stage in (FIRST, COUNCIL, EXECUTIVE):
        for party in LABELS:
            await decide(api, pid, party, *(("approve_with_conditions", "Quarterly report") if party == "sony"
                                               and stage == EXECUTIVE else ()))
    await api("lead").post(f"/api/v1/proposals/{pid}/acknowledge")
    await wait_for(api("lead"), pid, lambda p: len(p["grants"]) == 3)
    page = html.unescape((await sony.get(f"/proposals/{pid}")).text)
    assert 'id="grant-sony"' in page and "Suspend our grant" in page and "Revoke our grant" in page
    suspended = await sony.post(f"/proposals/{pid}/grants/sony/suspend", {"reason": "Audit"}, token=csrf_of(page))
    assert suspended.status_code == 303, suspended.text
    assert "chip-grant-suspended" in (await sony.get(f"/proposals/{pid}")).text

    assert "Obligations waiting on your evidence" in html.unescape((await lead.get("/")).text)
    lead_page = (await lead.get(f"/proposals/{pid}")).text
    sent = await lead.post(f"/proposals/{pid}/obligations/1/evidence", {"text": "Q1 report"}, token=csrf_of(lead_page))
    assert sent.status_code == 303, sent.text
    dashboard = html.unescape((await sony.get("/")).text)
    assert "Evidence to accept or return" in dashboard and "Quarterly report" in dashboard


async def test_the_tokens_page_makes_a_token_limited_to_the_check(app, api, browser):
    sony = await browser("sony")
    page = await sony.get("/tokens")
    assert 'name="scopes" value="grants:check"' in page.text
    created = await sony.post("/tokens", {"name": "runtime", "scopes": "grants:check"}, token=csrf_of(page.text))
    assert created.status_code == 200 and "grants check only" in created.text
    secret = created.text.split('id="new-token-secret" value="', 1)[1].split('"', 1)[0]
    client = api("sony")
    client.headers["Authorization"] = f"Bearer {secret}"
    assert (await client.get("/api/v1/grants/check", params={"proposal": 1, "party": "sony"})).status_code == 200
    assert (await client.get("/api/v1/inbox")).status_code == 403


async def test_widening_an_approved_scope_is_a_new_round_while_the_old_grants_hold(app, api, browser, temporal_env):
    lead = api("lead")
    body = factories.submission(POLICY, launch_scope="pilot")
    pid = (await lead.post("/api/v1/proposals", json=body)).json()["id"]
    for party in LABELS:
        await decide(api, pid, party)
    await decide(api, pid, "sony")  # executive approval: any one label
    workflow_now = await temporal_env.get_current_time()
    app.dependency_overrides[current_time] = lambda: workflow_now
    await wait_for(lead, pid, lambda p: len(p["grants"]) == 3)
    assert (await lead.post(f"/api/v1/proposals/{pid}/resubmit", json=dict(body, summary="Reworded."))).status_code == 409

    # On the pages: the lead is offered the wider scope, and the form says what it does.
    page = await browser("lead")
    assert "Seek a wider launch scope" in (await page.get(f"/proposals/{pid}")).text
    form = await page.get(f"/proposals/{pid}/resubmit")
    assert form.status_code == 200 and "grants in force hold at today" in html.unescape(form.text)
    sent = await page.post(f"/proposals/{pid}/resubmit", form_of(dict(body, launch_scope="broad_rollout")),
                           token=csrf_of(form.text))
    assert sent.status_code == 303, sent.text
    proposal = (await lead.get(f"/api/v1/proposals/{pid}")).json()
    assert (proposal["status"], proposal["stage"], proposal["version"]) == ("in_review", FIRST, 2)
    assert {g["scope"] for g in proposal["grants"].values()} == {"pilot"}  # in force meanwhile, at the old scope
    assert (await check(api, pid, "warner", scope="pilot"))["allowed"] is True
    assert (await check(api, pid, "warner", scope="broad_rollout"))["reason"] == "out_of_scope"

    for party in LABELS:
        await decide(api, pid, party)
    assert (await decide(api, pid, "warner"))["status"] == "approved"
    proposal = await wait_for(lead, pid, lambda p: p["grants"]["sony"]["scope"] == "broad_rollout")
    assert {g["version"] for g in proposal["grants"].values()} == {2}
    assert (await check(api, pid, "warner", scope="broad_rollout"))["allowed"] is True


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def test_evidence_can_be_a_file_seen_by_the_lead_the_obligations_label_and_compliance_alone(
        app, api, browser, engine, settings, temporal_env, tmp_path):
    lead = api("lead")
    pid = (await lead.post("/api/v1/proposals", json=factories.submission(POLICY, launch_scope="pilot"))).json()["id"]
    for party in LABELS:
        await decide(api, pid, party)
    await decide(api, pid, "universal", "approve_with_conditions", "Send the takedown report")
    assert (await lead.post(f"/api/v1/proposals/{pid}/acknowledge")).json()["status"] == "approved"
    await wait_for(lead, pid, lambda p: len(p["obligations"]) == 1)
    blobs = settings.data_dir / "files"

    # A refused type, or evidence nobody awaits: 4xx, and nothing is stored.
    url = f"/api/v1/proposals/{pid}/obligations/1/evidence/file"
    html_file = await lead.post(url, files={"file": ("report.pdf", b"<html><script>x</script></html>", "application/pdf")})
    assert html_file.status_code == 422 and "HTML" in html_file.json()["detail"]
    unknown = await lead.post(f"/api/v1/proposals/{pid}/obligations/7/evidence/file",
                              files={"file": ("report.pdf", PDF, "application/pdf")})
    assert unknown.status_code == 404 and not [p for p in blobs.rglob("*") if p.is_file()]
    assert (await api("universal").post(url, files={"file": ("r.pdf", PDF, "application/pdf")})).status_code == 403

    # The page's multipart form: text and a PDF.
    page = await browser("lead")
    form = await page.get(f"/proposals/{pid}")
    assert 'name="file"' in form.text and 'enctype="multipart/form-data"' in form.text
    sent = await page.client.post(f"/proposals/{pid}/obligations/1/evidence",
                                  data={"csrf_token": csrf_of(form.text), "text": "May's report, attached."},
                                  files={"file": ("takedowns may.pdf", PDF, "text/html")})
    assert sent.status_code == 303, sent.text
    returned = await api("universal").post(f"/api/v1/proposals/{pid}/obligations/1/return", json={"comment": "And June"})
    assert returned.json()["obligations"][0]["state"] == "returned"
    # The API: a file alone.
    csv_sent = await lead.post(url, files={"file": ("june.csv", b"track,takedowns\nA,3\n", "text/plain")})
    assert csv_sent.status_code == 200, csv_sent.text
    assert csv_sent.json()["obligations"][0]["state"] == "submitted"

    # Seen by the lead, Universal's reps and compliance; absent for Sony's reps everywhere.
    sha = hashlib.sha256(PDF).hexdigest()
    for who in ("lead", "universal", "compliance"):
        files = (await api(who).get(f"/api/v1/proposals/{pid}/files")).json()
        assert [(f["name"], f["obligation"], f["content_type"]) for f in files] == [
            ("takedowns may.pdf", 1, "application/pdf"), ("june.csv", 1, "text/csv")], who
    pdf_id = files[0]["id"]
    assert files[0]["sha256"] == sha and files[0]["size"] == len(PDF)
    assert (await api("sony").get(f"/api/v1/proposals/{pid}/files")).json() == []
    assert (await api("sony").get(f"/api/v1/proposals/{pid}/files/{pdf_id}")).status_code == 404
    assert (await api("universal").get(f"/api/v1/proposals/{pid}/files/{pdf_id}")).content == PDF
    universal_page = html.unescape((await (await browser("universal")).get(f"/proposals/{pid}")).text)
    assert "takedowns may.pdf" in universal_page and "june.csv" in universal_page
    sony_page = html.unescape((await (await browser("sony")).get(f"/proposals/{pid}")).text)
    assert "takedowns may.pdf" not in sony_page and "Evidence file" not in sony_page

    # On the audit chain by name, size, type and SHA-256, in the export, and agreeing with the history.
    with Session(engine) as session:
        submitted = session.exec(select(AuditEntry).where(AuditEntry.proposal_id == pid,
                                                          AuditEntry.kind == "evidence_submitted")).all()
        _, disagreements = await reconcile_proposal(temporal_env.client, session, pid)
    assert disagreements == []
    assert submitted[0].detail == {"obligation": "1", "evidence": "May's report, attached.", "file_sha256": sha,
                                   "file_name": "takedowns may.pdf", "file_size": str(len(PDF)),
                                   "file_type": "application/pdf"}
    assert submitted[1].detail["evidence"] == "" and submitted[1].detail["file_name"] == "june.csv"
    exported = await api("compliance").get("/api/v1/audit/export", params={"format": "jsonl", "proposal": pid})
    assert sha in exported.text and "takedowns may.pdf" in exported.text
    (tmp_path / "trail.jsonl").write_bytes(exported.content)
    (tmp_path / "may.pdf").write_bytes(PDF)
    verified = CliRunner().invoke(audit_app, ["verify", "--file", str(tmp_path / "trail.jsonl"),
                                              "--attachment", str(tmp_path / "may.pdf")])
    assert verified.exit_code == 0 and "takedowns may.pdf" in verified.output, verified.output
