"""Checking files kept beside an audit export against it, offline (`countersign audit verify
--file EXPORT --attachment FILE`): each file's SHA-256 must be one a `file` entry of the export
(or an `evidence_submitted` entry, for a file sent as evidence) commits to. The export is verified first, so those entries are the chain's own."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

from countersign.domain import spreadsheet
from countersign.domain.messages import FILE
from countersign.storage.audit_export import CSV_COLUMNS

EVIDENCE = "evidence_submitted"


def file_entries(export: Path) -> dict[str, list[str]]:
    """SHA-256 -> "proposal P, entry seq S (name)" of each file entry in the export."""
    found: dict[str, list[str]] = {}

    def add(record: dict) -> None:
        detail = record.get("detail") or {}
        if not isinstance(detail, dict):
            return
        if record.get("kind") == FILE and detail.get("sha256"):
            digest, name = detail["sha256"], detail.get("name")
        elif record.get("kind") == EVIDENCE and detail.get("file_sha256"):  # a file sent as evidence
            digest, name = detail["file_sha256"], detail.get("file_name")
        else:
            return
        found.setdefault(digest, []).append(
            f"proposal {record.get('proposal_id')}, entry seq {record.get('seq')} ({name})")

    with export.open(encoding="utf-8", newline="") as handle:
        if export.suffix.lower() == ".csv":
            rows = ([spreadsheet.restore(cell) for cell in row] for row in csv.reader(handle))
            next(rows, None)
            for row in rows:
                if len(row) == len(CSV_COLUMNS):
                    values = dict(zip(CSV_COLUMNS, row, strict=True))
                    add({**values, "detail": json.loads(values["detail"])})
        else:
            for line in handle:
                if line.strip():
                    add(json.loads(line))
    return found


def check(export: Path, attachments: list[Path]) -> tuple[list[str], list[str]]:
    """(what matched, what did not) for each attachment."""
    entries = file_entries(export)
    matched, problems = [], []
    for path in attachments:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in entries:
            matched.append(f"{path.name}: SHA-256 {digest[:12]}… is {'; '.join(entries[digest])}")
        else:
            problems.append(f"{path.name}: SHA-256 {digest[:12]}… is in no file entry of {export.name}: "
                            "not the file the record names, or changed since")
    return matched, problems
