"""The audit log: append-only entries, SHA-256 hash chained per proposal.

Entries are only ever inserted; the database refuses to update or delete
them (migration 0005). The chain shows what got past that anyway.

Each entry's hash covers the previous entry's hash and a canonical encoding
of the entry itself (`canonical_body`: proposal id, seq, kind, time, actor,
party, detail), so editing, deleting or reordering any entry breaks the
chain at that entry.

There is one chain per proposal (`proposal_id` = the proposal's id), written
by the workflow's activities with the state each entry records, and one
access chain (`proposal_id` NULL) for events that belong to no proposal:
sign-ins, tokens, delegations, every read of an audit trail
(`audit_read`). Reads go to the access chain, not to the proposal's own,
because a proposal's chain is the record of its process: it is reconciled
one-to-one with the workflow's Temporal history, and its head hash is the
final hash printed on the certificate of completion, which must not change
each time someone reads or prints it.

What a chain alone cannot show is a cut-off tail (the last entries deleted,
nothing after them to break); `countersign.domain.reconcile` catches that by
comparing each chain with the Temporal history, which records every event
the workflow asked to be written.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, text
from sqlmodel import Session, col, select

from countersign.domain.messages import CONVERSATION_KINDS
from countersign.domain.reconcile import StoredDecision, StoredEntry, StoredProposal
from countersign.storage.db import is_write
from countersign.storage.tables import AuditEntry, Decision, Proposal, utcnow

GENESIS = "0" * 64
CANONICAL_FIELDS = ("proposal_id", "seq", "kind", "at", "actor", "party", "detail")
AUDIT_READ = "audit_read"

_INSERT = AuditEntry.__table__.insert()
# Built once: every workflow step reads its chain's tail (SQLAlchemy then
# finds the compiled form by a key kept on the statement).
_TAIL = select(AuditEntry.seq, AuditEntry.hash).order_by(col(AuditEntry.seq).desc()).limit(1)
_PROPOSAL_TAIL = _TAIL.where(AuditEntry.proposal_id == bindparam("proposal_id"))
_ACCESS_TAIL = _TAIL.where(col(AuditEntry.proposal_id).is_(None))

# PostgreSQL advisory lock space for appends ("cs" + "au"): one lock per chain.
_LOCK_SPACE = 0x63736175


class EntryLike(Protocol):
    proposal_id: int | None
    seq: int
    prev_hash: str
    hash: str


# -- hashing ---------------------------------------------------------------


def canonical_body(entry: AuditEntry) -> dict[str, Any]:
    """The fields an entry's hash covers, as JSON-ready values."""
    return {
        "proposal_id": entry.proposal_id,
        "seq": entry.seq,
        "kind": entry.kind,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "party": entry.party,
        "detail": entry.detail,
    }


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def canonical(entry: AuditEntry) -> bytes:
    return encode(canonical_body(entry))


def body_hash(prev_hash: str, body: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + encode(body)).hexdigest()


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    return body_hash(prev_hash, canonical_body(entry))


# -- appending -------------------------------------------------------------


def _lock_chain(session: Session, proposal_id: int | None, row_locked: bool = False) -> None:
    """Serialize appends to one chain until the caller's transaction ends.

    Without it two writers could both read the same last entry and both
    append after it: on the access chain (proposal_id NULL) no unique
    constraint would stop the second, and the chain would fork.
    SQLite: a write transaction (`countersign.storage.db.transaction` or
    `write_session`) holds the database's write lock from its BEGIN
    IMMEDIATE. PostgreSQL: an advisory lock per chain, unless the caller
    holds the proposal's row locked (or inserted it), which serializes them
    already.
    """
    connection = session.connection()
    if not is_write(connection):
        raise RuntimeError("audit entries are appended in a write transaction (countersign.storage.db.transaction)")
    if connection.dialect.name == "postgresql" and not row_locked:
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:space, :chain)"),
            {"space": _LOCK_SPACE, "chain": proposal_id or 0},
        )


class EventLike(Protocol):
    kind: str
    at: datetime
    actor: str | None
    party: str | None
    detail: dict


def append(
    session: Session,
    proposal_id: int | None,
    kind: str,
    at: datetime,
    actor: str | None = None,
    party: str | None = None,
    detail: dict | None = None,
    step: int | None = None,
) -> AuditEntry:
    """Append one entry to `proposal_id`'s chain, inside the caller's transaction
    (`step`: the workflow step writing it, if one is)."""
    _lock_chain(session, proposal_id)
    seq, prev_hash = _tail(session, proposal_id)
    entry = AuditEntry(**_entry_row(proposal_id, seq + 1, prev_hash, kind, at, actor, party, detail, step))
    session.add(entry)
    session.flush()
    return entry


def append_events(session: Session, proposal_id: int, events: Iterable[EventLike], step: int | None = None,
                  row_locked: bool = False) -> list[dict[str, Any]]:
    """Append `events` to `proposal_id`'s chain in order, inside the caller's
    transaction: what `append` does for each, with one read of the chain's
    tail and one insert (a workflow step writes several at once). Returns the rows written.
    `row_locked`: the caller holds the proposal's row FOR UPDATE, which
    serializes the chain's writers on PostgreSQL as the chain's lock would."""
    events = list(events)
    if not events:
        return []
    _lock_chain(session, proposal_id, row_locked)
    last_seq, prev_hash = _tail(session, proposal_id)
    rows: list[dict[str, Any]] = []
    for seq, event in enumerate(events, start=last_seq + 1):
        rows.append(_entry_row(proposal_id, seq, prev_hash, event.kind, event.at, event.actor, event.party,
                               event.detail, step))
        prev_hash = rows[-1]["hash"]
    session.connection().execute(_INSERT, rows)
    return rows  # the entries' columns as stored, their seq and hash with them (webhooks queue from them)


def _tail(session: Session, proposal_id: int | None) -> tuple[int, str]:
    """The chain's last (seq, hash), or (0, GENESIS) for an empty chain."""
    if proposal_id is None:
        last = session.connection().execute(_ACCESS_TAIL).first()
    else:
        last = session.connection().execute(_PROPOSAL_TAIL, {"proposal_id": proposal_id}).first()
    return (last.seq, last.hash) if last else (0, GENESIS)


def _entry_row(proposal_id: int | None, seq: int, prev_hash: str, kind: str, at: datetime, actor: str | None,
               party: str | None, detail: dict | None, step: int | None) -> dict[str, Any]:
    """An entry's columns, hashed onto `prev_hash`."""
    if at.tzinfo is None:
        raise ValueError("audit entries need a timezone-aware time")
    row = dict(
        proposal_id=proposal_id,
        seq=seq,
        kind=kind,
        at=at.astimezone(UTC),  # as the database gives it back, so the hash checks out after a read
        actor=actor,
        party=party,
        detail=json.loads(json.dumps(detail or {})),  # as JSON gives it back (tuples become lists)
    )
    body = {name: row[name] for name in CANONICAL_FIELDS} | {"at": row["at"].isoformat()}  # = canonical_body
    return row | dict(prev_hash=prev_hash, hash=body_hash(prev_hash, body), step=step)


def log_read(
    session: Session,
    actor: str,
    via: str,
    proposal_ids: Iterable[int] = (),
    at: datetime | None = None,
    **detail: str,
) -> AuditEntry:
    """Record, on the access chain, that `actor` read audit trails.

    `via` says how (api, timeline, certificate, export, cli); `proposal_ids`
    whose trails were read are kept comma-separated in `proposals`.
    """
    fields = {"via": via, "proposals": ",".join(str(i) for i in proposal_ids)}
    fields.update({key: str(value) for key, value in detail.items() if value not in (None, "")})
    return append(session, None, AUDIT_READ, at or utcnow(), actor=actor, detail=fields)


# -- verifying -------------------------------------------------------------


def chain_name(proposal_id: int | None) -> str:
    return "access log" if proposal_id is None else f"proposal {proposal_id}"


@dataclass(frozen=True)
class ChainBreak:
    """The first entry of a chain that does not check out, and what is wrong with it."""

    proposal_id: int | None
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"entry seq {self.seq}" if self.seq is not None else "chain"
        return f"{chain_name(self.proposal_id)}, {where}: {self.problem}"


def check_chain(entries: Iterable[EntryLike], hash_of=entry_hash) -> ChainBreak | None:
    """The first break in a whole chain given in seq order, or None.

    `hash_of(prev_hash, entry)` recomputes an entry's hash (export files
    pass their own, over the fields they carry).
    """
    prev_hash, expected = GENESIS, 1
    for entry in entries:
        problem = link_problem(entry, expected, prev_hash) or content_problem(entry, prev_hash, hash_of)
        if problem:
            return ChainBreak(entry.proposal_id, entry.seq, problem)
        prev_hash, expected = entry.hash, expected + 1
    return None


def link_problem(entry: EntryLike, expected_seq: int, prev_hash: str) -> str | None:
    if entry.seq > expected_seq:
        missing = (
            f"entry {expected_seq}"
            if entry.seq == expected_seq + 1
            else f"entries {expected_seq}-{entry.seq - 1}"
        )
        return f"{missing} missing before it: deleted from the chain"
    if entry.seq < expected_seq:
        return f"seq {entry.seq} again after seq {expected_seq - 1}: a duplicated or reordered entry"
    if entry.prev_hash != prev_hash:
        before = (
            "the chain's start (GENESIS)" if expected_seq == 1 else f"the hash of entry {expected_seq - 1}"
        )
        return (
            f"its prev_hash {entry.prev_hash[:12]}… is not {before} ({prev_hash[:12]}…): "
            "an entry before it was removed, replaced, reordered or rewritten"
        )
    return None


def content_problem(entry: EntryLike, prev_hash: str, hash_of=entry_hash) -> str | None:
    actual = hash_of(prev_hash, entry)
    if actual != entry.hash:
        return (
            f"its content does not match its hash (stored {entry.hash[:12]}…, computed {actual[:12]}…): "
            "the entry was edited after it was written"
        )
    return None


def verify_chain(entries: list[AuditEntry]) -> AuditEntry | None:
    """The first entry whose hash or link does not check out, or None."""
    broken = check_chain(entries)
    if broken is None:
        return None
    return next(e for e in entries if e.seq == broken.seq)


def chain(session: Session, proposal_id: int | None) -> list[AuditEntry]:
    """One chain's entries in seq order (`None`: the access chain)."""
    return list(
        session.exec(
            select(AuditEntry).where(AuditEntry.proposal_id == proposal_id).order_by(col(AuditEntry.seq))
        )
    )


@dataclass
class VerifyReport:
    chains: int = 0
    entries: int = 0
    breaks: list[ChainBreak] | None = None

    @property
    def ok(self) -> bool:
        return not self.breaks


def _chains(session: Session, proposal_id: int | None) -> Iterator[tuple[int | None, list[AuditEntry]]]:
    query = select(AuditEntry)
    if proposal_id is not None:
        query = query.where(AuditEntry.proposal_id == proposal_id)
    query = query.order_by(col(AuditEntry.proposal_id), col(AuditEntry.seq)).execution_options(yield_per=2000)
    for key, group in itertools.groupby(session.exec(query), key=lambda e: e.proposal_id):
        yield key, list(group)


def verify(session: Session, proposal_id: int | None = None) -> VerifyReport:
    """Check every chain (each proposal's and the access chain), or only
    `proposal_id`'s.

    A stored proposal without any audit entry is a break too: its whole
    chain is gone.
    """
    report = VerifyReport(breaks=[])
    seen: set[int | None] = set()
    for key, entries in _chains(session, proposal_id):
        seen.add(key)
        report.chains += 1
        report.entries += len(entries)
        broken = check_chain(entries)
        if broken:
            report.breaks.append(broken)
    stored = select(Proposal.id).order_by(col(Proposal.id))
    if proposal_id is not None:
        stored = stored.where(Proposal.id == proposal_id)
    for missing in (pid for pid in session.exec(stored) if pid not in seen):
        report.chains += 1
        report.breaks.append(
            ChainBreak(missing, None, "the proposal has no audit entries at all: its chain was deleted")
        )
    report.breaks.sort(key=lambda b: (b.proposal_id is not None, b.proposal_id or 0))
    return report


# -- what reconciliation compares -------------------------------------------


def stored_state(
    session: Session, proposal_id: int
) -> tuple[StoredProposal | None, list[StoredDecision], list[StoredEntry]]:
    """The database's side of a proposal, in the plain shapes `countersign.domain.reconcile` compares."""
    proposal = session.get(Proposal, proposal_id)
    decisions = session.exec(
        select(Decision).where(Decision.proposal_id == proposal_id).order_by(col(Decision.id))
    )
    return (
        StoredProposal(proposal.id, proposal.status, proposal.version) if proposal else None,
        [
            StoredDecision(
                d.decision_id, d.party, str(d.decision), d.version, d.actor, d.comment, d.stage, d.decided_at
            )
            for d in decisions
        ],
        # The conversation's entries (messages, files, redactions) are written by the web app, not the
        # workflow: they share the chain, not the Temporal history reconciliation compares it with.
        [StoredEntry(e.seq, e.kind, e.at, e.actor, e.party, e.detail) for e in chain(session, proposal_id)
         if e.kind not in CONVERSATION_KINDS],
    )
