"""The compliance pages, as a signed-in compliance user uses them: search,
timeline beside the Temporal history, certificate, exports."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from countersign.storage import audit, audit_export
from tests import factories
from tests.audit.conftest import decide, sql, submit


def reads(engine) -> list[tuple[str, str, str]]:
    with Session(engine) as session:
        return [
            (e.actor, e.detail["via"], e.detail["proposals"])
            for e in audit.chain(session, None)
            if e.kind == audit.AUDIT_READ
        ]


def listed(page: str, proposal_id: int) -> bool:
    return f'href="/compliance/proposals/{proposal_id}"' in page


async def test_search_finds_proposals_by_label_person_date_and_text(api, browser, engine):
    sony = await submit(api, parties=["sony"], title="Stem remixer")
    warner = await submit(api, parties=["warner", "merlin"], title="Voice feature")
    await decide(
        api, "merlin", warner["id"], decision="request_changes", comment="Describe the dither pattern"
    )
    page = await browser("compliance")
    # the day of the workflow's clock: the time-skipping test server's runs ahead once a test skipped time
    today = datetime.fromisoformat(sony["created_at"]).astimezone(UTC).date()

    async def search(**params) -> str:
        response = await page.get("/compliance", params=params)
        assert response.status_code == 200, response.text
        return response.text

    by_label = await search(party="merlin")
    assert listed(by_label, warner["id"]) and not listed(by_label, sony["id"])
    by_person = await search(actor="rep.merlin")
    assert listed(by_person, warner["id"]) and not listed(by_person, sony["id"])
    by_status = await search(status="changes_requested")
    assert listed(by_status, warner["id"]) and not listed(by_status, sony["id"])
    by_text = await search(text="DITHER")  # in a comment, any case
    assert listed(by_text, warner["id"]) and not listed(by_text, sony["id"])
    assert "Describe the dither pattern" in by_text
    by_title = await search(text="stem remix")
    assert listed(by_title, sony["id"]) and not listed(by_title, warner["id"])
    by_date = await search(since=today.isoformat(), until=today.isoformat())
    assert listed(by_date, sony["id"]) and listed(by_date, warner["id"])
    later = await search(since=(today + timedelta(days=1)).isoformat())
    assert not listed(later, sony["id"]) and "No proposal matches" in later
    bad = await search(since="03/04/2026", party="emi")
    assert "could be 3 April or 4 March 2026" in bad and "choose a label" in bad  # explained, not a 500
    assert reads(engine)[0][:2] == ("compliance@example.com", "search")


async def test_search_by_a_persons_name(api, browser, engine):
    proposal = await submit(api, parties=["believe"])
    sql(engine, "UPDATE \"user\" SET name = 'Camille Durand' WHERE email = 'rep.believe@example.com'")
    await decide(api, "believe", proposal["id"])
    compliance = await browser("compliance")
    text = (await compliance.get("/compliance", params={"actor": "camille"})).text
    assert listed(text, proposal["id"])


async def test_only_compliance_and_admins_open_the_compliance_pages(api, browser):
    proposal = await submit(api, parties=["sony"])
    for who in ("lead", "sony"):
        page = await browser(who)
        assert (await page.get("/compliance")).status_code == 403
        assert (await page.get(f"/compliance/proposals/{proposal['id']}")).status_code == 403
        assert (await page.get("/compliance/export.jsonl")).status_code == 403
    warner = await browser("warner")
    assert (await warner.get(f"/compliance/proposals/{proposal['id']}")).status_code == 404
    anonymous = await (await browser(None)).get("/compliance")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    admin = await browser("admin")
    assert (await admin.get("/compliance")).status_code == 200


async def test_timeline_shows_the_trail_beside_the_temporal_history(api, browser, engine):
    compliance = await browser("compliance")
    proposal = await submit(api, parties=["sony", "warner"])
    await decide(api, "sony", proposal["id"], comment="Rights cleared", decision_id="sony-decision-1")
    response = await compliance.get(f"/compliance/proposals/{proposal['id']}")
    assert response.status_code == 200, response.text
    page = html.unescape(response.text)
    assert "Audit trail" in page and "Temporal event history" in page
    assert "Hash chain intact" in page and "In agreement" in page
    assert "Rights cleared" in page  # the audit trail's decided entry
    assert "decide (update id sony-decision-1): sony: approve on version 1 by rep.sony@example.com" in page
    assert "record_step 2: decided" in page  # the history's step that wrote it
    assert "step 2, event" in page  # each audit entry points at the step that recorded it
    assert "Workflow task completed" not in page  # task bookkeeping hidden…
    shown = html.unescape(
        (await compliance.get(f"/compliance/proposals/{proposal['id']}", params={"tasks": "true"})).text
    )
    assert "Workflow task completed" in shown  # …until asked for
    assert reads(engine)[0] == ("compliance@example.com", "timeline", str(proposal["id"]))


async def test_timeline_reports_a_decision_missing_from_the_database(api, browser, engine):
    compliance = await browser("compliance")
    proposal = await submit(api, parties=["sony", "warner"])
    await decide(api, "warner", proposal["id"], decision_id="warner-decision-1")
    sql(engine, "DELETE FROM decision WHERE decision_id = 'warner-decision-1'")
    page = html.unescape((await compliance.get(f"/compliance/proposals/{proposal['id']}")).text)
    assert "disagreement" in page
    assert (
        "warner-decision-1 (warner approve on version 1 by rep.warner@example.com) is in the Temporal "
        "history but not in the database" in page
    )


async def test_certificate_of_a_concluded_proposal(api, browser, engine):
    compliance = await browser("compliance")
    proposal = await submit(api)
    for party in factories.PARTIES:
        await decide(api, party, proposal["id"], comment=f"{party} signs off")
    response = await compliance.get(f"/compliance/proposals/{proposal['id']}/certificate")
    assert response.status_code == 200, response.text
    page = html.unescape(response.text)
    assert "Certificate of completion" in page and "Approved" in page
    for party in factories.PARTIES:
        assert f"rep.{party}@example.com" in page and f"{party} signs off" in page
    with Session(engine) as session:
        chain = audit.chain(session, proposal["id"])
    assert chain[-1].kind == "concluded"
    assert chain[-1].hash in page  # the final hash, in full
    assert "intact when this certificate was issued" in page
    assert "lead@example.com" in page and "Sony Music Group" in page
    assert reads(engine)[-1] == ("compliance@example.com", "certificate", str(proposal["id"]))
    with Session(engine) as session:
        assert audit.chain(session, proposal["id"])[-1].hash == chain[-1].hash  # printing changed nothing


async def test_no_certificate_before_the_proposal_concludes(api, browser):
    compliance = await browser("compliance")
    proposal = await submit(api, parties=["sony"])
    response = await compliance.get(f"/compliance/proposals/{proposal['id']}/certificate")
    assert response.status_code == 409
    assert "once it has concluded" in html.unescape(response.text)


async def test_page_exports_stream_and_verify(api, browser, engine):
    first = await submit(api, parties=["universal"])
    await decide(
        api, "universal", first["id"], decision="approve_with_conditions", comment="Credit the artists"
    )
    other = await submit(api, parties=["sony"])
    page = await browser("compliance")
    whole = await page.get("/compliance/export.jsonl", params={"party": "universal"})
    assert whole.status_code == 200 and whole.headers["content-type"].startswith("application/x-ndjson")
    report = audit_export.verify_jsonl(whole.text.splitlines())
    assert report.ok, report.problems
    assert list(report.chains) == [str(first["id"])] and report.entries == 3
    matching = await page.get(
        "/compliance/export.jsonl", params={"actor": "rep.universal", "scope": "matching", "access": "1"}
    )
    report = audit_export.verify_jsonl(matching.text.splitlines())
    assert report.ok, report.problems
    assert report.scope == "matching"
    assert report.chains[str(first["id"])]["entries"] == 1  # only the decision
    assert str(other["id"]) not in report.chains
    csv = await page.get("/compliance/export.csv", params={"proposal": first["id"]})
    assert audit_export.verify_csv(csv.text.splitlines(keepends=True)).ok
    assert (await page.get("/compliance/export.xml")).status_code == 422
    assert [r[1] for r in reads(engine)] == ["export", "export", "export"]
