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
from typing import Any, NamedTuple

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
    cosignature_counts,
    key_id,
    load_public_key,
    public_pem,
    revocation_reason,
    signature_ok,
)
from countersign.domain.checkpoint_mail import checkpoint_mail
from countersign.storage import audit, webhooks
from countersign.storage.db import is_write
from countersign.storage.tables import (
    AuditEntry,
    CheckpointCosignature,
    CheckpointRow,
    LogLeaf,
    OutboxMail,
    User,
    WitnessKey,
    WitnessRevocation,
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


class Signing(NamedTuple):
    signed: SignedCheckpoint | None  # None: the log had not grown
    frontier: merkle.Frontier  # the tree now, for the next call once committed
    woken: list[int]  # the active webhook endpoints the checkpoint was queued for, to wake once committed


def sign(session: Session, signer: Signer, now: datetime, mail_parties: Iterable[str] = (),
         known: merkle.Frontier | None = None, base_url: str = "") -> Signing:
    """Sequence new entries and sign a checkpoint of the whole log, unless the
    latest one has its size already (or the log is empty). Each organisation
    (`mail_parties` and the platform) is sent it by mail, through the outbox,
    linking to the checkpoints page at `base_url` (the web app's address), and
    by webhook (`checkpoint.signed`), queued in this transaction.

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
        return Signing(None, frontier, [])
    signed = signer.sign(Checkpoint(size, frontier.root().hex(), now.replace(microsecond=0)))
    c = signed.checkpoint
    session.add(CheckpointRow(size=c.size, root=c.root, time=c.time, signature=signed.signature,
                              key_id=signed.key_id))
    _queue_mail(session, signed, mail_parties, base_url)
    session.flush()
    woken = webhooks.queue_checkpoint(session.connection(), signed.as_json(), c.time)
    return Signing(signed, frontier, woken)


def _queue_mail(session: Session, signed: SignedCheckpoint, parties: Iterable[str], base_url: str) -> None:
    """To each party's reps and the platform's compliance staff and admins."""
    parties = list(parties)
    users = session.exec(select(User.email, User.role, User.party).where(User.active).order_by(User.email)).all()
    recipients = [u.email for u in users
                  if (u.role == Role.REP and u.party in parties) or u.role in (Role.COMPLIANCE, Role.ADMIN)]
    if not recipients:
        return
    # One mail, the same for everyone: rendered once, inserted as plain rows (a proposal's conclusion signs one).
    mail = checkpoint_mail(signed, base_url)
    now = signed.checkpoint.time
    session.connection().execute(OutboxMail.__table__.insert(), [
        dict(kind="checkpoint", recipient=recipient, subject=mail.subject, body=mail.body,
             html_body=mail.html_body, created_at=now, next_attempt_at=now) for recipient in recipients])


# -- reading ---------------------------------------------------------------------------


def _signed(session: Session, row: CheckpointRow) -> SignedCheckpoint:
    """The checkpoint with the cosignatures that count: those made before their key's revocation, if any."""
    cosignatures = session.exec(
        select(CheckpointCosignature, WitnessRevocation.revoked_at)
        .outerjoin(WitnessRevocation, col(WitnessRevocation.key_id) == col(CheckpointCosignature.key_id))
        .where(CheckpointCosignature.size == row.size).order_by(col(CheckpointCosignature.id))).all()
    return SignedCheckpoint(Checkpoint(row.size, row.root, row.time), row.signature, row.key_id,
                            [Cosignature(c.party, c.key_id, c.signature, c.time, revoked_at)
                             for c, revoked_at in cosignatures if cosignature_counts(c.time, revoked_at)])


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
    if revocation(session, kid) is not None:
        raise CheckpointError(f"key {kid} was revoked: make a new one (countersign witness init --dir NEW_DIR)")
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


def witness_keys(session: Session) -> list[tuple[WitnessKey, WitnessRevocation | None]]:
    """Every registered key, with its revocation if it was revoked."""
    return list(session.exec(
        select(WitnessKey, WitnessRevocation)
        .outerjoin(WitnessRevocation, col(WitnessRevocation.key_id) == col(WitnessKey.key_id))
        .order_by(col(WitnessKey.party), col(WitnessKey.id))).all())


def revocation(session: Session, kid: str) -> WitnessRevocation | None:
    return session.exec(select(WitnessRevocation).where(WitnessRevocation.key_id == kid)).first()


REVOKERS = (Role.ADMIN, Role.PARTY_ADMIN)


def may_revoke(user: User, party: str) -> bool:
    """Admins revoke any organisation's witness key; a party admin their own party's."""
    return user.role == Role.ADMIN or (user.role == Role.PARTY_ADMIN and user.party == party)


def revoke_key(session: Session, user: User, kid: str, reason: str,
               now: datetime) -> tuple[WitnessKey, WitnessRevocation]:
    """Revoke a witness key (an access-chain entry records it): its cosignatures from now on do not
    count. NotFound for a key `user` may not revoke; CheckpointError if it is revoked already."""
    key = session.exec(select(WitnessKey).where(WitnessKey.key_id == kid)).first()
    if key is None or not may_revoke(user, key.party):
        raise NotFound(f"no witness key {kid} you may revoke")
    reason = revocation_reason(reason)
    done = revocation(session, kid)
    if done is not None:
        raise CheckpointError(f"key {kid} was revoked already, on {done.revoked_at:%Y-%m-%d %H:%M} UTC")
    row = WitnessRevocation(key_id=kid, party=key.party, reason=reason, revoked_by=user.email, revoked_at=now)
    session.add(row)
    audit.append(session, None, "witness_key_revoked", now, actor=user.email, party=key.party,
                 detail={"key_id": kid, "reason": reason})
    session.flush()
    return key, row


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
    revoked = revocation(session, kid)
    if revoked is not None and not cosignature_counts(now, revoked.revoked_at):
        raise CheckpointError(f"{party}'s witness key {kid} was revoked on {revoked.revoked_at:%Y-%m-%d %H:%M} UTC: "
                              "register a new key")
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
