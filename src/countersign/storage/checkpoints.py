"""The audit log as one Merkle tree, its signed checkpoints and their cosignatures.

Every chain's entries (each proposal's and the access chain) are leaves of
one RFC 9162 tree (countersign.domain.merkle), in the order `sequence`
first saw them committed: it appends each entry not yet in `log_leaf`, by
id. Ids alone would not do on PostgreSQL, where a transaction holding a
lower id can commit after one holding a higher id has been sequenced.

A leaf is the entry's canonical record (`leaf_data`: the fields its chain
hash covers, plus `prev_hash` and `hash`), the same record an export file
carries, so a label can compute the leaf hash of its own decisions from an
export. `log_leaf` keeps each leaf hash as computed when sequenced, to sign
quickly; everything that proves (`log_leaves`, the proofs the API serves,
`countersign audit verify --checkpoint`) recomputes it from the entries
themselves, so an entry rewritten later no longer fits the signed roots.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from countersign.domain import merkle
from countersign.domain.access import Role
from countersign.domain.checkpoint import (
    Checkpoint,
    CheckpointError,
    Cosignature,
    SignedCheckpoint,
    Signer,
    key_id,
    load_public_key,
    public_pem,
    signature_ok,
)
from countersign.domain.checkpoint_mail import checkpoint_mail
from countersign.storage import audit
from countersign.storage.db import is_write
from countersign.storage.tables import (
    AuditEntry,
    CheckpointCosignature,
    CheckpointRow,
    LogLeaf,
    OutboxMail,
    User,
    WitnessKey,
)

PLATFORM = "platform"  # the organisation of leads, compliance and admins
_LOCK = (0x63736175, 0x636B)  # PostgreSQL advisory lock ("cs" "au", "ck"): one sequencer at a time
_UNSEQUENCED = (
    select(AuditEntry)
    .outerjoin(LogLeaf, col(LogLeaf.entry_id) == col(AuditEntry.id))
    .where(col(LogLeaf.idx).is_(None))
    .order_by(col(AuditEntry.id))
)


class NotFound(LookupError):
    pass


def leaf_data(record: dict[str, Any]) -> bytes:
    """A leaf's bytes: an entry's canonical fields (audit.CANONICAL_FIELDS, `at`
    in ISO 8601 as hashed), `prev_hash` and `hash`, as canonical JSON."""
    fields = {name: record[name] for name in (*audit.CANONICAL_FIELDS, "prev_hash", "hash")}
    return audit.encode(fields)


def entry_leaf(entry: AuditEntry) -> bytes:
    return merkle.leaf_hash(leaf_data(audit.canonical_body(entry) | {"prev_hash": entry.prev_hash,
                                                                     "hash": entry.hash}))


# -- sequencing and signing ---------------------------------------------------------


def sequence(session: Session) -> int:
    """Append every committed entry not yet in the tree as a leaf; the tree's size.
    In the caller's write transaction."""
    connection = session.connection()
    if not is_write(connection):
        raise RuntimeError("leaves are appended in a write transaction (countersign.storage.db.transaction)")
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": _LOCK[0], "b": _LOCK[1]})
    size = connection.execute(select(func.coalesce(func.max(LogLeaf.idx) + 1, 0))).scalar_one()
    rows = [dict(idx=idx, entry_id=entry.id, leaf_hash=entry_leaf(entry).hex())
            for idx, entry in enumerate(session.exec(_UNSEQUENCED), start=size)]
    if rows:
        connection.execute(LogLeaf.__table__.insert(), rows)
    return size + len(rows)


def sign(session: Session, signer: Signer, now: datetime, mail_parties: Iterable[str] = (),
         known: merkle.Frontier | None = None, base_url: str = "") -> tuple[SignedCheckpoint | None, merkle.Frontier]:
    """Sequence new entries and sign a checkpoint of the whole log, unless the
    latest one has its size already (or the log is empty). Each organisation
    (`mail_parties` and the platform) is sent it by mail, through the outbox, linking to the
    checkpoints page at `base_url` (the web app's address).

    `known`: the tree's frontier as of an earlier call, so that only the
    leaves added since are read; the frontier of the tree now is returned for
    the next call, to keep once this transaction has committed."""
    size = sequence(session)
    frontier = known.copy() if known is not None and known.size <= size else merkle.Frontier()
    added = session.exec(select(LogLeaf.leaf_hash).where(col(LogLeaf.idx) >= frontier.size)
                         .order_by(col(LogLeaf.idx)))
    frontier.extend(bytes.fromhex(h) for h in added)
    latest = session.exec(select(func.max(CheckpointRow.size))).one()
    if size == 0 or latest == size:
        return None, frontier
    signed = signer.sign(Checkpoint(size, frontier.root().hex(), now.replace(microsecond=0)))
    c = signed.checkpoint
    session.add(CheckpointRow(size=c.size, root=c.root, time=c.time, signature=signed.signature,
                              key_id=signed.key_id))
    _queue_mail(session, signed, mail_parties, base_url)
    session.flush()
    return signed, frontier


def _queue_mail(session: Session, signed: SignedCheckpoint, parties: Iterable[str], base_url: str) -> None:
    """To each party's reps and the platform's compliance staff and admins."""
    parties = list(parties)
    users = session.exec(select(User.email, User.role, User.party).where(User.active).order_by(User.email)).all()
    recipients = [u.email for u in users
                  if (u.role == Role.REP and u.party in parties) or u.role in (Role.COMPLIANCE, Role.ADMIN)]
    now = signed.checkpoint.time
    for recipient in recipients:
        mail = checkpoint_mail(recipient, signed, base_url)
        session.add(OutboxMail(kind="checkpoint", recipient=recipient, subject=mail.subject, body=mail.body,
                               html_body=mail.html_body, created_at=now, next_attempt_at=now))


# -- reading ---------------------------------------------------------------------------


def _signed(session: Session, row: CheckpointRow) -> SignedCheckpoint:
    cosignatures = session.exec(select(CheckpointCosignature).where(CheckpointCosignature.size == row.size)
                                .order_by(col(CheckpointCosignature.id))).all()
    return SignedCheckpoint(Checkpoint(row.size, row.root, row.time), row.signature, row.key_id,
                            [Cosignature(c.party, c.key_id, c.signature, c.time) for c in cosignatures])


def latest(session: Session) -> SignedCheckpoint | None:
    row = session.exec(select(CheckpointRow).order_by(col(CheckpointRow.size).desc()).limit(1)).first()
    return _signed(session, row) if row else None


def at_size(session: Session, size: int) -> SignedCheckpoint | None:
    row = session.get(CheckpointRow, size)
    return _signed(session, row) if row else None


def witnessed(session: Session, limit: int = 50) -> list[SignedCheckpoint]:
    """The newest checkpoints with their cosignatures, newest first."""
    rows = session.exec(select(CheckpointRow).order_by(col(CheckpointRow.size).desc()).limit(limit)).all()
    return [_signed(session, row) for row in rows]


@dataclass
class Leaves:
    """Today's tree, recomputed from the entries, and whatever did not fit."""

    hashes: list[bytes] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def index_of(self, leaf: bytes) -> int | None:
        if len(self._index) != len(self.hashes):
            self._index = {}
            for i, h in enumerate(self.hashes):
                self._index.setdefault(h, i)
        return self._index.get(leaf)

    _index: dict[bytes, int] = field(default_factory=dict, repr=False)


def log_leaves(session: Session) -> Leaves:
    """Every leaf's hash, recomputed from its audit entry as it is stored now."""
    found = Leaves()
    query = (select(LogLeaf, AuditEntry).outerjoin(AuditEntry, col(AuditEntry.id) == col(LogLeaf.entry_id))
             .order_by(col(LogLeaf.idx)).execution_options(yield_per=2000))
    for expected, (leaf, entry) in enumerate(session.exec(query)):
        if leaf.idx != expected:
            found.problems.append(f"leaf {expected} is missing from the log's order (next is {leaf.idx})")
        if entry is None:
            found.problems.append(f"leaf {leaf.idx}: its audit entry (id {leaf.entry_id}) is gone")
            found.hashes.append(merkle.leaf_hash(b"gone:" + str(leaf.entry_id).encode()))
            continue
        recomputed = entry_leaf(entry)
        if recomputed.hex() != leaf.leaf_hash:
            found.problems.append(f"leaf {leaf.idx} ({audit.chain_name(entry.proposal_id)}, entry seq {entry.seq}): "
                                  "the entry no longer matches the leaf hash taken when it was sequenced")
        found.hashes.append(recomputed)
    return found


def pending_leaves(session: Session) -> list[tuple[str, bytes]]:
    """Entries committed but not yet in the tree (the next checkpoint adds them, in this order)."""
    return [(f"{audit.chain_name(e.proposal_id)}, entry seq {e.seq}", entry_leaf(e))
            for e in session.exec(_UNSEQUENCED)]


def consistency(leaves: Leaves, old_size: int, new_size: int) -> list[bytes]:
    return merkle.consistency_proof(leaves.hashes, old_size, new_size)


def inclusion(leaves: Leaves, leaf: bytes, size: int) -> tuple[int, list[bytes]]:
    index = leaves.index_of(leaf)
    if index is None or index >= size:
        raise NotFound(f"no leaf with hash {leaf.hex()} in the tree of size {size}")
    return index, merkle.inclusion_proof(leaves.hashes, index, size)


# -- witnesses -------------------------------------------------------------------------


def organisation(user: User) -> str | None:
    """Whose witness a user can speak for: their party (reps), the platform (admins)."""
    if user.role == Role.REP and user.party:
        return user.party
    if user.role == Role.ADMIN:
        return PLATFORM
    return None


def register_key(session: Session, party: str, public_key_pem: str, by: str, now: datetime) -> WitnessKey:
    """Register `party`'s witness key (an access-chain entry records it); the same key twice is one."""
    key = load_public_key(public_key_pem)
    kid = key_id(key)
    existing = session.exec(select(WitnessKey).where(WitnessKey.key_id == kid)).first()
    if existing is not None:
        if existing.party != party:
            raise CheckpointError("this key is registered to another organisation")
        return existing
    row = WitnessKey(party=party, key_id=kid, public_key=public_pem(key), registered_by=by, registered_at=now)
    session.add(row)
    audit.append(session, None, "witness_key_registered", now, actor=by, party=party, detail={"key_id": kid})
    session.flush()
    return row


def witness_keys(session: Session) -> list[WitnessKey]:
    return list(session.exec(select(WitnessKey).order_by(col(WitnessKey.party), col(WitnessKey.id))))


def add_cosignature(session: Session, size: int, party: str, kid: str, signature: str, by: str,
                    now: datetime) -> SignedCheckpoint:
    """Store `party`'s cosignature of checkpoint `size` once it verifies with the party's registered key."""
    row = session.get(CheckpointRow, size)
    if row is None:
        raise NotFound(f"no checkpoint of size {size}")
    key_row = session.exec(select(WitnessKey).where(WitnessKey.key_id == kid, WitnessKey.party == party)).first()
    if key_row is None:
        raise CheckpointError(f"{party} has no registered witness key {kid}: register it first "
                              "(countersign witness register)")
    checkpoint = Checkpoint(row.size, row.root, row.time)
    if not signature_ok(load_public_key(key_row.public_key), checkpoint.cosigned_body(), signature):
        raise CheckpointError(f"the cosignature does not verify with {party}'s key {kid} over checkpoint {size}")
    already = session.exec(select(CheckpointCosignature).where(CheckpointCosignature.size == size,
                                                               CheckpointCosignature.key_id == kid)).first()
    if already is None:
        session.add(CheckpointCosignature(size=size, party=party, key_id=kid, signature=signature, time=now,
                                          submitted_by=by))
        session.flush()
    return _signed(session, row)
