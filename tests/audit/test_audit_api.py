"""`GET /api/v1/proposals/{id}/audit` and the API export, through HTTP,
against a real worker: who may read, what comes back, and that each read
is itself on record."""

from __future__ import annotations

import json

from sqlmodel import Session

from countersign.storage import audit, audit_export
from tests.audit.conftest import decide, set_detail, submit


def access_log(engine) -> list:
    with Session(engine) as session:
        return audit.chain(session, None)


async def test_compliance_reads_the_whole_trail_with_its_hashes(api, engine):
    proposal = await submit(api, parties=["sony", "warner"])
    await decide(api, "sony", proposal["id"], comment="Cleared by rights team", decision_id="sony-1")
    response = await api("compliance").get(f"/api/v1/proposals/{proposal['id']}/audit")
    assert response.status_code == 200, response.text
    trail = response.json()
    kinds = [e["kind"] for e in trail["entries"]]
    assert kinds == ["submitted", "routed", "decided"]
    decided = trail["entries"][2]
    assert (decided["party"], decided["actor"]) == ("sony", "rep.sony@example.com")
    assert decided["detail"]["comment"] == "Cleared by rights team"
    assert trail["intact"] is True and trail["broken"] is None
    assert trail["head_hash"] == decided["hash"]
    # The response carries what a reader needs to recompute every hash.
    prev = audit.GENESIS
    for entry in trail["entries"]:
        with Session(engine) as session:
            stored = audit.chain(session, proposal["id"])[entry["seq"] - 1]
        body = audit.canonical_body(stored)
        assert entry["prev_hash"] == prev and audit.body_hash(prev, body) == entry["hash"]
        prev = entry["hash"]


async def test_each_read_is_logged_on_the_access_chain_not_the_proposals(api, engine, users):
    proposal = await submit(api, parties=["sony"])
    before = (await api("compliance").get(f"/api/v1/proposals/{proposal['id']}/audit")).json()
    again = (await api("admin").get(f"/api/v1/proposals/{proposal['id']}/audit")).json()
    assert again["entries"] == before["entries"]  # reading does not change the proposal's chain
    reads = [e for e in access_log(engine) if e.kind == audit.AUDIT_READ]
    assert [(e.actor, e.detail["via"], e.detail["proposals"]) for e in reads] == [
        ("compliance@example.com", "api", str(proposal["id"])),
        ("admin@example.com", "api", str(proposal["id"])),
    ]
    assert audit.check_chain(access_log(engine)) is None


async def test_only_compliance_and_admins_read_trails(api, engine):
    proposal = await submit(api, parties=["sony"])
    url = f"/api/v1/proposals/{proposal['id']}/audit"
    assert (await api("lead").get(url)).status_code == 403  # the owner sees the proposal, not its audit trail
    assert (await api("sony").get(url)).status_code == 403
    hidden = await api("warner").get(url)  # not its catalog: the proposal's existence is private
    assert hidden.status_code == 404 and "detail" in hidden.json()
    assert (await api("compliance").get("/api/v1/proposals/999999999/audit")).status_code == 404
    assert (await api("compliance").get(url, headers={"Authorization": "Bearer nope"})).status_code == 401
    assert [e for e in access_log(engine) if e.kind == audit.AUDIT_READ] == []  # refused reads read nothing


async def test_a_broken_chain_shows_in_the_trail(api, engine):
    proposal = await submit(api, parties=["sony"])
    set_detail(engine, proposal["id"], 1, {"version": "2"})
    trail = (await api("compliance").get(f"/api/v1/proposals/{proposal['id']}/audit")).json()
    assert trail["intact"] is False
    assert trail["broken"]["seq"] == 1 and "edited" in trail["broken"]["problem"]


async def test_api_export_streams_verifiable_json_lines_and_csv(api, engine):
    sony = await submit(api, parties=["sony"])
    warner = await submit(api, parties=["warner"], title="Voice feature")
    await decide(api, "warner", warner["id"], decision="reject", comment="No voice models")
    response = await api("compliance").get("/api/v1/audit/export", params={"party": "warner"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in response.headers["content-disposition"]
    lines = response.text.splitlines()
    report = audit_export.verify_jsonl(lines)
    assert report.ok, report.problems
    assert report.scope == "whole" and list(report.chains) == [str(warner["id"])]
    assert report.chains[str(warner["id"])]["first_seq"] == 1
    assert sony["id"] not in {json.loads(line).get("proposal_id") for line in lines}

    csv = await api("admin").get("/api/v1/audit/export", params={"format": "csv", "proposal": warner["id"]})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == ",".join(audit_export.CSV_COLUMNS)
    assert audit_export.verify_csv(csv.text.splitlines(keepends=True)).ok
    reads = [e for e in access_log(engine) if e.kind == audit.AUDIT_READ]
    assert [(r.detail["via"], r.detail["format"], r.detail["proposals"]) for r in reads] == [
        ("api-export", "jsonl", str(warner["id"])),
        ("api-export", "csv", str(warner["id"])),
    ]


async def test_api_export_refuses_other_roles_and_bad_filters(api, app):
    assert (await api("lead").get("/api/v1/audit/export")).status_code == 403
    assert (await api("sony").get("/api/v1/audit/export")).status_code == 403
    assert (await api("compliance").get("/api/v1/audit/export", params={"party": "emi"})).status_code == 422
    assert (
        await api("compliance").get("/api/v1/audit/export", params={"since": "yesterday"})
    ).status_code == 422
    assert (await api("compliance").get("/api/v1/audit/export", params={"format": "xml"})).status_code == 422
