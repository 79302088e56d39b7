"""CSV exports are safe to open in a spreadsheet (no cell starts a formula)
and still verify offline: verification undoes the documented mapping."""

from __future__ import annotations

import csv

from hypothesis import given, settings
from hypothesis import strategies as st

from countersign.domain import spreadsheet
from countersign.storage import audit
from countersign.storage.db import transaction
from countersign.storage.tables import utcnow

FORMULAS = ["=HYPERLINK(\"https://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tindent", "\rcr",
            "'quoted", "=cmd|' /C calc'!A0"]


@settings(max_examples=50)
@given(st.text())
def test_neutralising_is_undone_exactly(text):
    cell = spreadsheet.neutralise(text)
    assert not cell.startswith(spreadsheet.TRIGGERS)
    assert spreadsheet.restore(cell) == text


async def test_a_csv_export_holds_no_formula_and_verifies(engine, cli, tmp_path):
    with transaction(engine) as session:
        for value in FORMULAS:
            audit.append(session, None, "sign_in_failed", utcnow(), actor=value, party=value,
                         detail={"address": value, "reason": "bad_credentials"})
    path = tmp_path / "export.csv"
    assert (await cli("export", "--format", "csv", "--access", "--output", str(path))).exit_code == 0
    with path.open(newline="", encoding="utf-8") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert not [cell for cell in cells if cell.startswith(spreadsheet.TRIGGERS)]
    assert "'=cmd|' /C calc'!A0" in cells and "''quoted" in cells
    verified = await cli("verify", "--file", str(path))
    assert verified.exit_code == 0, verified.output
    path.write_text(path.read_text(encoding="utf-8").replace("'+1+1", "'+1+2"), encoding="utf-8")
    assert (await cli("verify", "--file", str(path))).exit_code == 1
