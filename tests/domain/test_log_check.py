"""Cosignatures checked against the organisations' witness keys as the API lists them
(countersign.domain.log_check): a revoked key's cosignatures count only if made before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from countersign.domain.checkpoint import (
    Checkpoint,
    Cosignature,
    SignedCheckpoint,
    Signer,
    new_private_key_pem,
)
from countersign.domain.log_check import LogCheck, check_cosignatures

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_a_cosignature_made_after_its_key_was_revoked_does_not_count():
    log, sony, warner = (Signer(new_private_key_pem()) for _ in range(3))
    checkpoint = Checkpoint(5, "ab" * 32, T0)
    signed = log.sign(checkpoint)
    signed = SignedCheckpoint(checkpoint, signed.signature, signed.key_id, [
        Cosignature("sony", sony.key_id, sony.cosign(checkpoint), T0),
        Cosignature("warner", warner.key_id, warner.cosign(checkpoint), T0 + timedelta(hours=2)),
    ])
    revoked_at = (T0 + timedelta(hours=1)).isoformat()
    keys = {s.key_id: {"party": party, "public_key": s.public_pem(), "revoked_at": revoked_at}
            for s, party in ((sony, "sony"), (warner, "warner"))}
    report = LogCheck()
    check_cosignatures(signed, keys, report)
    assert report.ok, report.failures
    assert report.notes == [
        (f"warner's cosignature is not counted: its key {warner.key_id} was revoked before it was made "
         "(2026-12-01T10:00:00Z)"),
        "the latest checkpoint is co-signed by sony (before its key was revoked, 2026-12-01T10:00:00Z)",
    ]
    keys[sony.key_id]["revoked_at"] = None
    report = LogCheck()
    check_cosignatures(signed, keys, report)
    assert report.notes[-1] == "the latest checkpoint is co-signed by sony"
