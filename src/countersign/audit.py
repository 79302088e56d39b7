"""The audit log: append-only entries, SHA-256 hash chained per proposal.

Each entry's hash covers the previous entry's hash and a canonical encoding
of the entry itself, so editing, deleting or reordering any entry breaks
every hash after it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlmodel import Session, col, select

from countersign.models import AuditEntry

GENESIS = "0" * 64


def canonical(entry: AuditEntry) -> bytes:
    body = {
        "proposal_id": entry.proposal_id,
        "seq": entry.seq,
        "kind": entry.kind,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "party": entry.party,
        "detail": entry.detail,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(entry)).hexdigest()


def append(
    session: Session,
    proposal_id: int | None,
    kind: str,
    at: datetime,
    actor: str | None = None,
    party: str | None = None,
    detail: dict | None = None,
) -> AuditEntry:
    """Append one entry to `proposal_id`'s chain, inside the caller's transaction."""
    last = session.exec(
        select(AuditEntry)
        .where(AuditEntry.proposal_id == proposal_id)
        .order_by(col(AuditEntry.seq).desc())
        .limit(1)
        .with_for_update()
    ).first()
    entry = AuditEntry(
        proposal_id=proposal_id,
        seq=(last.seq + 1) if last else 1,
        kind=kind,
        at=at,
        actor=actor,
        party=party,
        detail=detail or {},
        prev_hash=last.hash if last else GENESIS,
        hash="",
    )
    entry.hash = entry_hash(entry.prev_hash, entry)
    session.add(entry)
    session.flush()
    return entry


def verify_chain(entries: list[AuditEntry]) -> AuditEntry | None:
    """The first entry whose hash or link does not check out, or None."""
    prev = GENESIS
    for expected_seq, entry in enumerate(entries, start=1):
        if entry.seq != expected_seq or entry.prev_hash != prev or entry_hash(prev, entry) != entry.hash:
            return entry
        prev = entry.hash
    return None
