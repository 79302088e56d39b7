"""Searching the audit log, exporting it, and verifying an export offline.

Filters (`AuditFilter`) pick proposals: by id, by a label whose catalog
they touch, by status and stage, and by their events: an event by a person
(e-mail or name), of a kind, in a date range (UTC days), and free text
(title, capability, any version's content, any event's detail or actor).
Event conditions given together must hold for one and the same event.

Exports come in two scopes:

- `whole` (the default): every entry of each matching proposal's chain,
  from seq 1. Each chain verifies from GENESIS, so the file proves on its
  own that it holds the proposals' complete trails as they were hashed.
- `matching`: only the entries that match the event conditions. The file
  says so in its header; verification then checks every entry's own hash
  (its content against its hash and declared predecessor) and every link
  between consecutive entries present, and lets gaps be.

The access chain (sign-ins, tokens, audit reads; proposal id null) is
exported when asked for (`access`), in the same scope.

A JSON Lines export is a header record, one record per entry, and an end
record that counts the entries and gives each chain's last seq and head
hash, so a cut-off file is caught too. Each entry carries the canonical
fields its hash covers, exactly as hashed (`at` as hashed, in ISO 8601),
and its `prev_hash` and `hash`; nothing else is needed to verify it.
CSV carries the same columns (detail as canonical JSON) for spreadsheets,
and a decision's signature in columns of its own (verification checks that
it says what the hashed entry says: countersign.domain.signature.export_problem),
with any cell that a spreadsheet would run as a formula prefixed by a quote
(countersign.domain.spreadsheet, which verification undoes); it has no header or end record, so it verifies entry by entry and link by
link, like a `matching` export.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Engine, String, and_, cast, exists, false, func, or_, true
from sqlmodel import Session, col, select

from countersign.domain import signature, spreadsheet
from countersign.storage import audit
from countersign.storage.tables import AuditEntry, PartyReview, Proposal, ProposalVersion, User, utcnow

FORMAT = "countersign-audit-export"
FORMAT_VERSION = 1
WHOLE = "whole"
MATCHING = "matching"
# The hashed fields, then a decision's signature (countersign.domain.signature.EXPORTED), empty on other rows.
SIGNATURE_COLUMNS = tuple(f"signature_{name}" for name in signature.EXPORTED)
CSV_COLUMNS = ("proposal_id", "seq", "kind", "at", "actor", "party", "detail", "prev_hash", "hash",
               *SIGNATURE_COLUMNS)
HASH_RULE = (
    "hash = SHA-256 hex of (prev_hash as ASCII + the JSON of the entry's proposal_id, seq, kind, at, "
    "actor, party and detail with sorted keys, separators ',' and ':', UTF-8); the first entry's "
    "prev_hash is 64 zeros"
)
CHUNK = 200


# -- filtering ---------------------------------------------------------------


@dataclass
class AuditFilter:
    proposal_id: int | None = None
    party: str | None = None  # proposals touching this label's catalog
    status: str | None = None
    stage: str | None = None
    actor: str | None = None  # an event by this person: part of an e-mail or a name
    kind: str | None = None  # an event of this kind
    since: date | None = None  # an event on or after this UTC day
    until: date | None = None  # an event on or before this UTC day
    text: str | None = None
    scope: str = WHOLE  # or MATCHING: export only the matching events
    access: bool = False  # include the access chain

    def as_dict(self) -> dict[str, str]:
        """The filters that are set, as strings (for links, logs and headers)."""
        shown = {}
        for key, value in asdict(self).items():
            if value in (None, "", False) or (key == "scope" and value == WHOLE):
                continue
            if isinstance(value, bool):
                shown[key] = "true"
            elif isinstance(value, date):
                shown[key] = value.isoformat()
            else:
                shown[key] = str(value)
        return shown

    @property
    def has_event_conditions(self) -> bool:
        return any((self.actor, self.kind, self.since, self.until))


def _like(value: str) -> str:
    escaped = value.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _ilike(column, value: str):
    expression = column if isinstance(column, ColumnElement) else col(column)
    return expression.ilike(_like(value), escape="\\")


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _event_conditions(f: AuditFilter) -> list:
    conditions = []
    if f.actor:
        named = select(User.email).where(_ilike(User.name, f.actor))
        conditions.append(or_(_ilike(AuditEntry.actor, f.actor), col(AuditEntry.actor).in_(named)))
    if f.kind:
        conditions.append(AuditEntry.kind == f.kind)
    if f.since:
        conditions.append(col(AuditEntry.at) >= _day_start(f.since))
    if f.until and f.until < date.max:  # the last day there is has no day after it: no bound
        conditions.append(col(AuditEntry.at) < _day_start(f.until + timedelta(days=1)))
    return conditions


def _entry_text(text: str):
    return or_(
        _ilike(cast(AuditEntry.detail, String), text),
        _ilike(AuditEntry.actor, text),
        _ilike(AuditEntry.party, text),
        _ilike(AuditEntry.kind, text),
    )


def _proposal_text(text: str):
    in_versions = exists(
        select(ProposalVersion.id).where(
            ProposalVersion.proposal_id == Proposal.id, _ilike(cast(ProposalVersion.content, String), text)
        )
    )
    return or_(_ilike(Proposal.title, text), _ilike(Proposal.capability, text), in_versions)


def _has_event(*conditions):
    return exists(select(AuditEntry.id).where(AuditEntry.proposal_id == Proposal.id, *conditions))


def proposal_conditions(f: AuditFilter) -> list:
    conditions = []
    if f.proposal_id is not None:
        conditions.append(Proposal.id == f.proposal_id)
    if f.party:
        conditions.append(
            exists(
                select(PartyReview.id).where(
                    PartyReview.proposal_id == Proposal.id, PartyReview.party == f.party, PartyReview.current
                )
            )
        )
    if f.status:
        conditions.append(Proposal.status == f.status)
    if f.stage:
        conditions.append(Proposal.stage == f.stage)
    events = _event_conditions(f)
    if f.text:
        by_event = _has_event(*events, _entry_text(f.text))
        by_proposal = and_(_proposal_text(f.text), _has_event(*events) if events else true())
        conditions.append(or_(by_event, by_proposal))
    elif events:
        conditions.append(_has_event(*events))
    return conditions


def search_proposals(
    session: Session, f: AuditFilter, limit: int = 100, offset: int = 0
) -> tuple[list[Proposal], int]:
    """Matching proposals, most recently changed first, and how many match in all."""
    conditions = proposal_conditions(f)
    total = session.exec(select(func.count()).select_from(Proposal).where(*conditions)).one()
    rows = session.exec(
        select(Proposal)
        .where(*conditions)
        .order_by(col(Proposal.updated_at).desc(), col(Proposal.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), total


def matching_proposal_ids(session: Session, f: AuditFilter) -> list[int]:
    return list(session.exec(select(Proposal.id).where(*proposal_conditions(f)).order_by(col(Proposal.id))))


def _entry_conditions(f: AuditFilter, matching: bool, proposal_ids=None) -> list:
    """Conditions on AuditEntry: in a matching proposal (or the access chain,
    if asked for), and, when `matching`, the event conditions themselves."""
    ids = proposal_ids if proposal_ids is not None else select(Proposal.id).where(*proposal_conditions(f))
    in_proposal = col(AuditEntry.proposal_id).in_(ids)
    in_access = col(AuditEntry.proposal_id).is_(None) if f.access else false()
    if not matching:
        return [or_(in_proposal, in_access)]
    events = _event_conditions(f)
    if f.text:
        title_match = exists(
            select(Proposal.id).where(Proposal.id == AuditEntry.proposal_id, _proposal_text(f.text))
        )
        in_proposal = and_(in_proposal, or_(_entry_text(f.text), title_match))
        in_access = and_(in_access, _entry_text(f.text))
    return [or_(in_proposal, in_access), *events]


def search_events(
    session: Session, f: AuditFilter, limit: int = 200, offset: int = 0
) -> tuple[list[AuditEntry], int]:
    """Events of the matching proposals (only the matching events, when any
    event condition or text is given), newest first, and the total count."""
    matching = f.has_event_conditions or bool(f.text) or f.scope == MATCHING
    conditions = _entry_conditions(f, matching)
    total = session.exec(select(func.count()).select_from(AuditEntry).where(*conditions)).one()
    rows = session.exec(
        select(AuditEntry)
        .where(*conditions)
        .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), total


# -- exporting ------------------------------------------------------------------


def export_record(entry: AuditEntry) -> dict[str, Any]:
    return {
        "record": "entry",
        **audit.canonical_body(entry),
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def header(
    f: AuditFilter, generated_by: str, proposal_ids: list[int], at: datetime | None = None
) -> dict[str, Any]:
    return {
        "record": "header",
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "generated_at": (at or utcnow()).isoformat(),
        "generated_by": generated_by,
        "scope": f.scope,
        "filters": f.as_dict(),
        "proposals": proposal_ids,
        "access_chain": f.access,
        "hash_rule": HASH_RULE,
        "genesis": audit.GENESIS,
    }


def export_entries(engine: Engine, f: AuditFilter, proposal_ids: list[int]) -> Iterator[AuditEntry]:
    """The entries to export, chain by chain in seq order, read in chunks
    (each chain in one query, so each is a consistent prefix of its chain)."""
    matching = f.scope == MATCHING
    with Session(engine) as session:
        for start in range(0, len(proposal_ids), CHUNK):
            chunk = proposal_ids[start : start + CHUNK]
            conditions = _entry_conditions(AuditFilter(**{**asdict(f), "access": False}), matching, chunk)
            yield from session.exec(
                select(AuditEntry)
                .where(*conditions)
                .order_by(col(AuditEntry.proposal_id), col(AuditEntry.seq))
            )
        if f.access:
            conditions = _entry_conditions(f, matching, [])
            yield from session.exec(
                select(AuditEntry)
                .where(*conditions)
                .order_by(col(AuditEntry.seq))
                .execution_options(yield_per=1000)
            )


def _chain_key(proposal_id: int | None) -> str:
    return "access" if proposal_id is None else str(proposal_id)


def jsonl(entries: Iterable[AuditEntry], head: dict[str, Any],
          signatures: Mapping[tuple[int, int], dict[str, str]] | None = None) -> Iterator[str]:
    """A JSON Lines export: header, entries, end record. A "decided" entry carries its decision's
    `signature` (by proposal and step: countersign.storage.signatures), beside the hashed fields."""
    yield json.dumps(head, ensure_ascii=False) + "\n"
    chains: dict[str, dict[str, Any]] = {}
    count = 0
    for entry in entries:
        record = export_record(entry)
        signed = _signature_of(entry, signatures)
        if signed:
            record["signature"] = signed
        yield json.dumps(record, ensure_ascii=False) + "\n"
        count += 1
        chain = chains.setdefault(
            _chain_key(entry.proposal_id),
            {"proposal_id": entry.proposal_id, "entries": 0, "first_seq": entry.seq},
        )
        chain.update(entries=chain["entries"] + 1, last_seq=entry.seq, head=entry.hash)
    yield json.dumps({"record": "end", "entries": count, "chains": list(chains.values())}) + "\n"


def _signature_of(entry: AuditEntry, signatures: Mapping[tuple[int, int], dict[str, str]] | None) -> dict | None:
    return (signatures or {}).get((entry.proposal_id, entry.step)) if entry.kind == "decided" else None


def csv_rows(entries: Iterable[AuditEntry],
             signatures: Mapping[tuple[int, int], dict[str, str]] | None = None) -> Iterator[str]:
    """The CSV export: a decision's row also carries its signature (as `jsonl` does)."""
    buffer = io.StringIO()
    writer = spreadsheet.writer(buffer)  # no cell can start a formula (countersign.domain.spreadsheet)

    def flush() -> str:
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return value

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for entry in entries:
        body = audit.canonical_body(entry)
        signed = _signature_of(entry, signatures) or {}
        writer.writerow(
            [
                "" if entry.proposal_id is None else entry.proposal_id,
                entry.seq,
                entry.kind,
                body["at"],
                entry.actor or "",
                entry.party or "",
                audit.encode(entry.detail).decode(),
                entry.prev_hash,
                entry.hash,
                *(signed.get(name, "") for name in signature.EXPORTED),
            ]
        )
        yield flush()


# -- verifying an export file, offline ---------------------------------------------


@dataclass
class _Entry:
    """An entry as read from a file: what audit.check_* need."""

    line: int
    body: dict[str, Any]
    prev_hash: str
    hash: str

    @property
    def proposal_id(self) -> int | None:
        return self.body["proposal_id"]

    @property
    def seq(self) -> int:
        return self.body["seq"]


def _file_hash(prev_hash: str, entry: _Entry) -> str:
    return audit.body_hash(prev_hash, entry.body)


@dataclass
class FileReport:
    name: str
    format: str = "jsonl"
    scope: str = MATCHING
    entries: int = 0
    chains: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class _Checker:
    def __init__(self, report: FileReport) -> None:
        self.report = report
        self.last: dict[str, _Entry] = {}

    def problem(self, line: int, text: str) -> None:
        self.report.problems.append(f"line {line}: {text}")

    def add(self, entry: _Entry, signed: dict | None = None) -> None:
        """The entry, and the signature exported beside it (a decision's)."""
        report = self.report
        key = _chain_key(entry.proposal_id)
        where = f"{audit.chain_name(entry.proposal_id)}, entry seq {entry.seq}"
        before = self.last.get(key)
        report.entries += 1
        chain = report.chains.setdefault(key, {"entries": 0, "first_seq": entry.seq})
        chain.update(entries=chain["entries"] + 1, last_seq=entry.seq, head=entry.hash)
        if before is None:
            if entry.seq == 1 or report.scope == WHOLE:
                problem = audit.link_problem(entry, 1, audit.GENESIS)
                if problem:
                    self.problem(
                        entry.line,
                        f"{where}: {problem}"
                        + (
                            " (a whole-chain export must start each chain at seq 1)"
                            if report.scope == WHOLE
                            else ""
                        ),
                    )
        elif entry.seq <= before.seq:
            self.problem(
                entry.line, f"{where}: comes after seq {before.seq}: entries are out of order or repeated"
            )
        elif entry.seq == before.seq + 1 or report.scope == WHOLE:
            problem = audit.link_problem(entry, before.seq + 1, before.hash)
            if problem:
                self.problem(entry.line, f"{where}: {problem}")
        problem = audit.content_problem(entry, entry.prev_hash, _file_hash)
        if problem:
            self.problem(entry.line, f"{where}: {problem}")
        problem = signature.export_problem(signed, entry.body["kind"], entry.body["at"], entry.body["detail"])
        if problem:
            self.problem(entry.line, f"{where}: {problem}")
        self.last[key] = entry


def _body(record: dict[str, Any]) -> dict[str, Any]:
    missing = [name for name in (*audit.CANONICAL_FIELDS, "prev_hash", "hash") if name not in record]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    body = {name: record[name] for name in audit.CANONICAL_FIELDS}
    if not isinstance(body["seq"], int) or not isinstance(body["detail"], dict):
        raise ValueError("seq must be a number and detail an object")
    return body


def verify_jsonl(lines: Iterable[str], name: str = "export") -> FileReport:
    report = FileReport(name)
    checker = _Checker(report)
    end: dict[str, Any] | None = None
    number = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            checker.problem(number, f"not JSON ({error.msg})")
            continue
        kind = record.get("record") if isinstance(record, dict) else None
        if number == 1:
            if kind != "header" or record.get("format") != FORMAT:
                checker.problem(1, "not a Countersign audit export: the first line is not its header")
                return report
            report.scope = record.get("scope", WHOLE)
            continue
        if end is not None:
            checker.problem(number, "a record after the end record")
            continue
        if kind == "end":
            end = record
            continue
        if kind != "entry":
            checker.problem(number, f"unknown record {kind!r}")
            continue
        try:
            signed = record.get("signature")
            if signed is not None and not isinstance(signed, dict):
                raise ValueError("signature must be an object")
            checker.add(_Entry(number, _body(record), str(record["prev_hash"]), str(record["hash"])), signed)
        except ValueError as error:
            checker.problem(number, f"not an audit entry: {error}")
    if number == 0:
        checker.problem(1, "the file is empty")
    elif end is None:
        checker.problem(number, "the file ends without its end record: it was cut off")
    else:
        _check_end(checker, end, number)
    return report


def _check_end(checker: _Checker, end: dict[str, Any], line: int) -> None:
    report = checker.report
    if end.get("entries") != report.entries:
        checker.problem(
            line, f"the end record counts {end.get('entries')} entries but the file holds {report.entries}"
        )
    declared = {_chain_key(c.get("proposal_id")): c for c in end.get("chains", []) if isinstance(c, dict)}
    for key in sorted(set(declared) | set(report.chains)):
        found, said = report.chains.get(key), declared.get(key)
        name = "access log" if key == "access" else f"proposal {key}"
        if found is None:
            checker.problem(line, f"{name}: in the end record but none of its entries are in the file")
        elif said is None:
            checker.problem(line, f"{name}: its entries are in the file but not in the end record")
        elif (said.get("entries"), said.get("last_seq"), said.get("head")) != (
            found["entries"],
            found["last_seq"],
            found["head"],
        ):
            checker.problem(
                line,
                f"{name}: the end record says {said.get('entries')} entries up to seq "
                f"{said.get('last_seq')} (head {str(said.get('head'))[:12]}…), the file holds "
                f"{found['entries']} up to seq {found['last_seq']} (head {found['head'][:12]}…)",
            )


def verify_csv(text_lines: Iterable[str], name: str = "export") -> FileReport:
    report = FileReport(name, format="csv", scope=MATCHING)
    report.notes.append(
        "CSV has no header or end record: entries and the links between them are verified, "
        "not that chains are whole; use the JSON Lines export for that"
    )
    checker = _Checker(report)
    reader = csv.reader(text_lines)
    rows = ([spreadsheet.restore(cell) for cell in row] for row in reader)  # undo the export's neutralising
    columns = next(rows, None)
    if columns is None or tuple(columns) != CSV_COLUMNS:
        checker.problem(1, f"not a Countersign audit export: the columns must be {', '.join(CSV_COLUMNS)}")
        return report
    for row in rows:
        number = reader.line_num
        if not row:
            continue
        try:
            values = dict(zip(CSV_COLUMNS, row, strict=True))
            body = {
                "proposal_id": int(values["proposal_id"]) if values["proposal_id"] else None,
                "seq": int(values["seq"]),
                "kind": values["kind"],
                "at": values["at"],
                "actor": values["actor"] or None,
                "party": values["party"] or None,
                "detail": json.loads(values["detail"]),
            }
        except (ValueError, json.JSONDecodeError) as error:
            checker.problem(number, f"not an audit entry: {error}")
            continue
        signed = {name: values[f"signature_{name}"] for name in signature.EXPORTED}
        checker.add(_Entry(number, body, values["prev_hash"], values["hash"]), signed if any(signed.values()) else None)
    return report


def verify_file(path: Path) -> FileReport:
    """Verify an export file on its own (JSON Lines, or CSV by its suffix)."""
    with path.open(encoding="utf-8", newline="") as handle:
        if path.suffix.lower() == ".csv":
            return verify_csv(handle, path.name)
        return verify_jsonl(handle, path.name)
