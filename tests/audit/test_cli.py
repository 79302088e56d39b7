"""`countersign audit verify | reconcile | export` against the test
database and the Temporal test server, with a real worker behind them."""

from __future__ import annotations

import csv
import json

from sqlmodel import Session, update

from countersign.storage import audit, audit_export
from countersign.storage.db import transaction
from countersign.storage.tables import User
from tests import factories
from tests.audit.conftest import decide, past_the_triggers, set_detail, sql, submit


async def test_verify_passes_then_names_an_edited_entry(api, cli, engine):
    proposal = await submit(api, parties=["sony", "warner"])
    await decide(api, "sony", proposal["id"], comment="Approved by legal")
    ok = await cli("verify")
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("OK: ") and "every hash and link checks out" in ok.output

    with Session(engine) as session:
        decided = audit.chain(session, proposal["id"])[2]
    assert decided.kind == "decided"
    set_detail(engine, proposal["id"], 3, {**decided.detail, "comment": "Approved by legal, unconditionally"})
    broken = await cli("verify")
    assert broken.exit_code == 1
    assert (
        f"First broken entry: proposal {proposal['id']}, entry seq 3: its content does not match its hash"
        in broken.output
    )
    one = await cli("verify", "--proposal", str(proposal["id"]))
    assert one.exit_code == 1 and f"proposal {proposal['id']}, entry seq 3" in one.output


async def test_verify_catches_a_deleted_and_a_reordered_entry(api, cli, engine):
    deleted = await submit(api, parties=["sony", "warner"])
    await decide(api, "sony", deleted["id"])
    await decide(api, "warner", deleted["id"])
    reordered = await submit(api, parties=["merlin", "believe"])
    await decide(api, "merlin", reordered["id"])
    assert (await cli("verify")).exit_code == 0
    sql(engine, "DELETE FROM audit_entry WHERE proposal_id = :p AND seq = 3", p=deleted["id"])
    sql(engine, "UPDATE audit_entry SET seq = 99 WHERE proposal_id = :p AND seq = 2", p=reordered["id"])
    sql(engine, "UPDATE audit_entry SET seq = 2 WHERE proposal_id = :p AND seq = 3", p=reordered["id"])
    sql(engine, "UPDATE audit_entry SET seq = 3 WHERE proposal_id = :p AND seq = 99", p=reordered["id"])
    result = await cli("verify")
    assert result.exit_code == 1
    assert f"proposal {deleted['id']}, entry seq 4: entry 3 missing before it" in result.output
    assert f"proposal {reordered['id']}, entry seq 2: its prev_hash" in result.output
    assert "BROKEN: 2 of " in result.output  # the two proposals; the access log (tokens) is intact


async def test_verify_an_unknown_proposal_fails(api, cli):
    result = await cli("verify", "--proposal", "424242")
    assert result.exit_code == 1 and "No proposal 424242" in result.output


async def test_export_then_verify_the_file_offline(api, cli, engine, tmp_path):
    proposal = await submit(api, parties=["sony", "universal"])
    await decide(
        api, "sony", proposal["id"], decision="approve_with_conditions", comment="Label every output"
    )
    await decide(api, "universal", proposal["id"], decision="reject", comment="Not this year")
    path = tmp_path / "export.jsonl"
    written = await cli("export", "--format", "jsonl", "--party", "universal", "--output", str(path))
    assert written.exit_code == 0, written.output
    engine.dispose()  # offline: the database plays no part from here on
    sql(engine, "DELETE FROM audit_entry")

    ok = await cli("verify", "--file", str(path))
    assert ok.exit_code == 0, ok.output
    assert "OK: export.jsonl: 5 entries in 1 chain (whole chains)" in ok.output

    lines = path.read_text().splitlines()
    record = json.loads(lines[3])
    assert record["kind"] == "decided" and record["detail"]["comment"] == "Label every output"
    record["detail"]["comment"] = "No conditions"
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join([*lines[:3], json.dumps(record), *lines[4:]]) + "\n")
    result = await cli("verify", "--file", str(tampered))
    assert result.exit_code == 1
    assert (
        f"First: line 4: proposal {proposal['id']}, entry seq 3: its content does not match its hash"
        in result.output
    )

    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(lines[:-2]) + "\n")  # the last entry and the end record gone
    result = await cli("verify", "--file", str(cut))
    assert result.exit_code == 1 and "cut off" in result.output

    dropped = tmp_path / "dropped.jsonl"
    dropped.write_text("\n".join([*lines[:2], *lines[3:]]) + "\n")  # entry 2 gone, the end record fixed up
    end = json.loads(lines[-1])
    end["entries"] -= 1
    end["chains"][0]["entries"] -= 1
    dropped.write_text("\n".join([*lines[:2], *lines[3:-1], json.dumps(end)]) + "\n")
    result = await cli("verify", "--file", str(dropped))
    assert result.exit_code == 1 and "entry 2 missing before it" in result.output


async def test_csv_export_verifies_on_its_own(api, cli, engine, tmp_path):
    with transaction(engine) as session:  # a name a spreadsheet would run as a formula
        session.exec(update(User).where(User.email == "rep.believe@example.com").values(name="=Rep Believe"))
    proposal = await submit(api, parties=["believe"])
    await decide(api, "believe", proposal["id"], comment="Bon pour accord, “merci”")
    path = tmp_path / "export.csv"
    assert (await cli("export", "--format", "csv", "--output", str(path))).exit_code == 0
    ok = await cli("verify", "--file", str(path))
    assert ok.exit_code == 0, ok.output
    assert "OK: export.csv: 4 entries" in ok.output
    text = path.read_text()
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == audit_export.CSV_COLUMNS
    decided = next(row for row in rows if row["kind"] == "decided")
    assert decided["signature_name"] == "'=Rep Believe"  # neutralised; verification restores it
    assert decided["signature_meaning"].startswith("Approved, for ") and decided["signature_at"]
    assert not any(row["signature_meaning"] for row in rows if row["kind"] != "decided")

    for tampered, problem in ((text.replace("Bon pour accord", "Bon pour refus"), "does not match its hash"),
                              (text.replace("Approved, for", "Rejected, for"), "signature's meaning")):
        path.write_text(tampered)
        broken = await cli("verify", "--file", str(path))
        assert broken.exit_code == 1 and problem in broken.output, broken.output
    old_columns = tmp_path / "old.csv"  # the columns are checked strictly: an export without them is refused
    old_columns.write_text("".join(line.split(",signature_name")[0] + "\n" for line in text.splitlines()[:1]))
    refused = await cli("verify", "--file", str(old_columns))
    assert refused.exit_code == 1 and "the columns must be" in refused.output


async def test_cli_export_is_logged_and_writes_to_stdout(api, cli, engine):
    proposal = await submit(api, parties=["sony"])
    result = await cli("export", "--proposal", str(proposal["id"]))
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["record"] for r in records] == ["header", "entry", "entry", "end"]
    with Session(engine) as session:
        read = audit.chain(session, None)[-1]
    assert read.kind == audit.AUDIT_READ and read.actor.startswith("cli:")
    assert read.detail["proposals"] == str(proposal["id"]) and read.detail["via"] == "cli-export"


async def test_reconcile_agrees_then_reports_a_deleted_decision(api, cli, engine):
    proposal = await submit(api)
    for party in factories.PARTIES:
        await decide(api, party, proposal["id"], decision_id=f"{party}-final")
    other = await submit(api, parties=["sony"])
    ok = await cli("reconcile")
    assert ok.exit_code == 0, ok.output
    assert "OK: 2 proposals reconciled with Temporal and the database: 0 disagreements" in ok.output

    sql(engine, "DELETE FROM decision WHERE decision_id = 'warner-final'")
    result = await cli("reconcile")
    assert result.exit_code == 1
    assert (
        f"DISAGREES: proposal {proposal['id']}: decision warner-final (warner approve on version 1 by "
        "rep.warner@example.com) is in the Temporal history but not in the database"
    ) in result.output
    assert "the audit trail records a decision at seq" in result.output  # its audit entry has no row either
    assert f"proposal {other['id']}:" not in result.output
    single = await cli("reconcile", "--proposal", str(other["id"]))
    assert single.exit_code == 0 and "OK: 1 proposal reconciled" in single.output


async def test_reconcile_catches_what_verify_cannot(api, cli, engine):
    """A cut-off tail, and a forged trail whose hashes were all recomputed,
    leave a chain that verifies; the Temporal history still disagrees."""
    cut = await submit(api, parties=["sony", "warner"])
    await decide(api, "sony", cut["id"])
    forged = await submit(api, parties=["merlin"])
    await decide(api, "merlin", forged["id"], decision="reject", comment="Not cleared")
    sql(engine, "DELETE FROM audit_entry WHERE proposal_id = :p AND seq = 3", p=cut["id"])
    # Rewrite the decision's comment, and rehash the chain from there.
    with past_the_triggers(engine) as conn, Session(conn) as session:
        entries = audit.chain(session, forged["id"])
        prev = entries[1].hash
        for entry in entries[2:]:
            if entry.kind == "decided":
                entry.detail = {**entry.detail, "comment": "Cleared"}
            entry.prev_hash, entry.hash = prev, audit.entry_hash(prev, entry)
            prev = entry.hash
            session.add(entry)
        session.flush()
    assert (await cli("verify")).exit_code == 0
    result = await cli("reconcile")
    assert result.exit_code == 1
    assert (f"proposal {cut['id']}: workflow step 2 recorded 'decided' at") in result.output
    assert "which is not in the audit trail" in result.output
    assert (
        f"proposal {forged['id']}: audit entry seq 3 differs from what workflow step 2 recorded: detail is"
    ) in result.output


async def test_reconcile_reports_a_status_that_disagrees(api, cli, engine):
    proposal = await submit(api, parties=["sony"])
    await decide(api, "sony", proposal["id"])
    sql(engine, "UPDATE proposal SET status = 'in_review' WHERE id = :p", p=proposal["id"])
    result = await cli("reconcile", "--proposal", str(proposal["id"]))
    assert result.exit_code == 1
    assert "the database says in_review but the workflow completed with approved" in result.output
    assert "the audit trail has no 'concluded' entry" not in result.output
