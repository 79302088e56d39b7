"""Issue 21's "Done when", end to end through the JSON API on the real test server and worker:
a Sony rep asks a label_lead question, the lead answers with a PDF; Universal's rep sees neither
(messages, files, proposal, pages, exports, mail); compliance sees both; the export verifies
offline, the PDF's hash included; a redaction leaves a chain that still verifies."""

from __future__ import annotations

import hashlib
import json

from sqlmodel import Session, select
from typer.testing import CliRunner

from api.cli_audit import audit_app, reconcile_all

from countersign.storage import audit
from countersign.storage.audit_export import verify_file
from countersign.storage.tables import OutboxMail
from tests import factories

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
QUESTION = "Is the Sony stem licence renewed for 2027? (secret-sony-words)"
ANSWER = "Yes: the signed renewal is attached, @rep.sony@example.com."


async def test_a_label_lead_question_and_its_answer_stay_between_sony_and_the_lead(api, browser, users, engine,
                                                                                 settings, tmp_path, temporal_env):
    lead, sony, universal, compliance, admin = (api(who) for who in ("lead", "sony", "universal", "compliance",
                                                                      "admin"))
    submitted = await lead.post("/api/v1/proposals", json=factories.submission())
    assert submitted.status_code == 201, submitted.text
    pid = submitted.json()["id"]

    asked = await sony.post(f"/api/v1/proposals/{pid}/messages",
                            json={"text": QUESTION, "visibility": "label_lead", "question": True})
    assert asked.status_code == 201, asked.text
    question = asked.json()
    assert (question["party"], question["visibility"], question["question"]) == ("sony", "label_lead", {"open": True})
    assert [q["text"] for q in (await lead.get(f"/api/v1/proposals/{pid}/messages")).json()] == [QUESTION]

    # A mention of someone who cannot see the thread is refused, saying why; nothing is stored.
    refused = await lead.post(f"/api/v1/proposals/{pid}/messages",
                              json={"text": "cc @rep.universal@example.com", "reply_to": question["id"]})
    assert refused.status_code == 422 and "rep.universal@example.com cannot see" in refused.json()["detail"]

    answered = await lead.post(f"/api/v1/proposals/{pid}/messages", json={"text": ANSWER, "reply_to": question["id"]})
    assert answered.status_code == 201, answered.text
    answer = answered.json()
    assert (answer["visibility"], answer["party"], answer["answers"]) == ("label_lead", "sony", True)
    uploaded = await lead.post(f"/api/v1/proposals/{pid}/files", data={"message_id": str(answer["id"])},
                               files={"file": ("renewal 2027.pdf", PDF, "text/html")})  # the claimed type is ignored
    assert uploaded.status_code == 201, uploaded.text
    pdf = uploaded.json()
    assert (pdf["content_type"], pdf["sha256"], pdf["size"], pdf["message_id"]) == (
        "application/pdf", hashlib.sha256(PDF).hexdigest(), len(PDF), answer["id"])

    # Sony's rep and compliance see both, the question closed, the file downloadable but never rendered.
    for reader in (sony, compliance):
        thread = (await reader.get(f"/api/v1/proposals/{pid}/messages")).json()
        assert [m["text"] for m in thread] == [QUESTION, ANSWER]
        assert thread[0]["question"] == {"open": False} and thread[1]["files"][0]["id"] == pdf["id"]
        got = await reader.get(f"/api/v1/proposals/{pid}/files/{pdf['id']}")
        assert got.status_code == 200 and got.content == PDF
        assert got.headers["content-disposition"] == 'attachment; filename="renewal 2027.pdf"'
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-security-policy"].startswith("sandbox")

    # Universal's rep: neither exists, anywhere it could look.
    assert (await universal.get(f"/api/v1/proposals/{pid}/messages")).json() == []
    assert (await universal.get(f"/api/v1/proposals/{pid}/files")).json() == []
    assert (await universal.get(f"/api/v1/proposals/{pid}/files/{pdf['id']}")).status_code == 404
    proposal_answer = (await universal.get(f"/api/v1/proposals/{pid}")).text
    assert "secret-sony-words" not in proposal_answer and "renewal" not in proposal_answer
    assert (await universal.get(f"/api/v1/audit/export?proposal={pid}")).status_code == 403
    universal_page = await (await browser("universal")).get(f"/proposals/{pid}")
    assert universal_page.status_code == 200 and "secret-sony-words" not in universal_page.text
    assert "renewal 2027.pdf" not in universal_page.text
    sony_page = await (await browser("sony")).get(f"/proposals/{pid}")
    assert "secret-sony-words" in sony_page.text and "renewal 2027.pdf" in sony_page.text
    with Session(engine) as session:
        mail = session.exec(select(OutboxMail).where(OutboxMail.kind == "message")).all()
    assert {m.recipient for m in mail} == {"lead@example.com", "rep.sony@example.com"}
    assert not [m for m in mail if "secret-sony-words" in m.body and m.recipient != "lead@example.com"
                and m.recipient != "rep.sony@example.com"]
    assert not [m for m in mail if "renewal" in m.body and "%PDF" in m.body]  # named and linked, never attached

    # Compliance's export verifies offline; its entries commit to the words and the PDF by hash.
    export = tmp_path / "trail.jsonl"
    response = await compliance.get(f"/api/v1/audit/export?proposal={pid}")
    assert response.status_code == 200
    export.write_bytes(response.content)
    assert verify_file(export).ok, verify_file(export).problems
    records = [json.loads(line) for line in response.text.splitlines()]
    conversation = [r for r in records if r.get("kind") in ("message", "file")]
    assert [r["kind"] for r in conversation] == ["message", "message", "file"]
    assert conversation[0]["detail"]["text_sha256"] == hashlib.sha256(QUESTION.encode()).hexdigest()
    assert conversation[2]["detail"]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert "secret-sony-words" not in response.text
    kept = tmp_path / "renewal 2027.pdf"
    kept.write_bytes(PDF)
    checked = CliRunner().invoke(audit_app, ["verify", "--file", str(export), "--attachment", str(kept)])
    assert checked.exit_code == 0 and "OK: renewal 2027.pdf" in checked.output, checked.output
    kept.write_bytes(PDF + b"changed")
    assert CliRunner().invoke(audit_app, ["verify", "--file", str(export), "--attachment", str(kept)]).exit_code == 1
    # The conversation shares the chain, not the workflow's history: reconciliation still agrees.
    assert [d for d in await reconcile_all(engine, temporal_env.client, [pid]) if d.severity == "error"] == []

    # An admin redacts the question: its words go, the chain still verifies, the redaction is recorded.
    redacted = await admin.post(f"/api/v1/proposals/{pid}/messages/{question['id']}/redact",
                                json={"reason": "personal data sent by mistake"})
    assert redacted.status_code == 200, redacted.text
    assert redacted.json()["text"] == "" and redacted.json()["redacted"]["reason"] == "personal data sent by mistake"
    assert "secret-sony-words" not in (await sony.get(f"/api/v1/proposals/{pid}/messages")).text
    after = await compliance.get(f"/api/v1/proposals/{pid}/audit")
    assert after.json()["intact"] is True and after.json()["entries"][-1]["kind"] == "redacted"
    export.write_bytes((await compliance.get(f"/api/v1/audit/export?proposal={pid}")).content)
    assert verify_file(export).ok, verify_file(export).problems
    with Session(engine) as session:
        assert audit.verify(session, pid).ok

    timeline = await (await browser("compliance")).get(f"/compliance/proposals/{pid}")
    assert timeline.status_code == 200 and "secret-sony-words" not in timeline.text
    assert "<strong>Redacted</strong>" in timeline.text and "conversation, not a workflow step" in timeline.text
    assert "not in history" not in timeline.text

    # On the certificate, once concluded: the version's files by name and SHA-256.
    version_file = await lead.post(f"/api/v1/proposals/{pid}/files", files={"file": ("card.pdf", PDF, "x/y")})
    assert version_file.status_code == 201 and version_file.json()["version"] == 1
    assert (await lead.post(f"/api/v1/proposals/{pid}/withdraw", json={"reason": "done"})).status_code == 200
    certificate = await (await browser("compliance")).get(f"/compliance/proposals/{pid}/certificate")
    assert "card.pdf" in certificate.text and hashlib.sha256(PDF).hexdigest() in certificate.text
    assert "renewal 2027.pdf" not in certificate.text  # a message's file is not the version's
    late = await lead.post(f"/api/v1/proposals/{pid}/files", files={"file": ("late.pdf", PDF, "x/y")})
    assert late.status_code == 409 and "concluded" in late.json()["detail"]
