"""Checking the audit log against a checkpoint someone kept: the steps of
`countersign audit verify --checkpoint`, whatever the log's proofs come from
(the database directly, or the API).

1. The kept checkpoint's signature verifies with the log's public key.
2. Today's tree (size, root) extends it: an RFC 9162 consistency proof.
3. Every entry of an export is in today's tree: an inclusion proof each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from countersign.domain import merkle
from countersign.domain.checkpoint import (
    CheckpointError,
    SignedCheckpoint,
    check_signature,
    cosignature_counts,
    load_public_key,
    parse_time,
    signature_ok,
    stamp,
)

Consistency = Callable[[int, int], Sequence[bytes]]
Inclusion = Callable[[bytes, int], tuple[int, Sequence[bytes]] | None]


@dataclass
class LogCheck:
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def check_signed(signed: SignedCheckpoint, key: Ed25519PublicKey, what: str, report: LogCheck) -> bool:
    problem = check_signature(signed, key)
    if problem:
        report.failures.append(f"{what} (size {signed.checkpoint.size}): {problem}")
        return False
    return True


def check_cosignatures(signed: SignedCheckpoint, keys: dict[str, dict[str, Any]], report: LogCheck) -> None:
    """Each cosignature verifies with the witness key its organisation registered (`keys` by key id,
    as the API lists them); one made after its key was revoked does not count."""
    witnessed = []
    for cosignature in signed.cosignatures:
        key = keys.get(cosignature.key_id)
        revoked_at = parse_time(key["revoked_at"]) if key and key.get("revoked_at") else None
        try:
            ok = (key is not None and key["party"] == cosignature.party
                  and signature_ok(load_public_key(key["public_key"]), signed.checkpoint.cosigned_body(),
                                   cosignature.signature))
        except CheckpointError:
            ok = False
        if not ok:
            report.failures.append(f"the latest checkpoint's cosignature by {cosignature.party} "
                                   f"(key {cosignature.key_id}) does not verify with that organisation's key")
        elif not cosignature_counts(cosignature.time, revoked_at):
            report.notes.append(f"{cosignature.party}'s cosignature is not counted: its key {cosignature.key_id} "
                                f"was revoked before it was made ({stamp(revoked_at)})")
        else:
            witnessed.append(cosignature.party + (f" (before its key was revoked, {stamp(revoked_at)})"
                                                  if revoked_at else ""))
    if witnessed:
        report.notes.append(f"the latest checkpoint is co-signed by {', '.join(sorted(set(witnessed)))}")


def check_extends(kept: SignedCheckpoint, size: int, root: bytes, consistency: Consistency,
                  report: LogCheck) -> None:
    """Whether the tree (size, root) extends the kept checkpoint."""
    old = kept.checkpoint
    if size < old.size:
        report.failures.append(f"today's log has {size} entries, fewer than the {old.size} of the checkpoint: "
                               "entries it covered were removed")
        return
    try:
        proof = consistency(old.size, size)
    except (LookupError, ValueError) as exc:
        report.failures.append(f"no consistency proof from size {old.size} to {size}: {exc}")
        return
    if not merkle.verify_consistency(old.size, size, bytes.fromhex(old.root), root, proof):
        report.failures.append(
            f"today's log (size {size}, root {root.hex()[:16]}…) does not extend the checkpoint of size {old.size} "
            f"(root {old.root[:16]}…): an entry it covered was changed, removed or reordered")
        return
    report.notes.append(f"today's log (size {size}) extends the checkpoint of size {old.size}")


def check_included(records: Iterable[tuple[str, bytes]], size: int, root: bytes, inclusion: Inclusion,
                   report: LogCheck) -> None:
    """Whether each (name, leaf hash) is in the tree (size, root)."""
    count = 0
    for name, leaf in records:
        count += 1
        found = inclusion(leaf, size)
        if found is None:
            report.failures.append(f"{name}: not in today's log (size {size}): changed or removed since exported")
            continue
        index, proof = found
        if not merkle.verify_inclusion(leaf, index, size, proof, root):
            report.failures.append(f"{name}: its inclusion proof (leaf {index}) does not lead to today's root")
    if count:
        report.notes.append(f"checked {count} exported entries for inclusion")


def entry_name(record: dict[str, Any]) -> str:
    chain = "access log" if record.get("proposal_id") is None else f"proposal {record.get('proposal_id')}"
    return f"{chain}, entry seq {record.get('seq')}"
