"""Checkpoints of the whole audit log, stored (SQLite and PostgreSQL): every
chain's entries sequenced into one tree, signed checkpoints, mail to each
organisation, witness keys and cosignatures, and the append-only tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session, select

from countersign.domain import merkle
from countersign.domain.checkpoint import (
    CheckpointError,
    Signer,
    check_signature,
    load_private_key,
    new_private_key_pem,
    sign,
)
from countersign.storage import audit, checkpoints
from countersign.storage.db import transaction
from countersign.storage.tables import CheckpointCosignature, OutboxMail
from tests import factories

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SIGNER = Signer(new_private_key_pem())


def add_entries(engine, count: int, start: int = 0) -> None:
    """Entries on three chains, interleaved: proposals 1 and 2 and the access chain."""
    with transaction(engine) as session:
        for i in range(start, start + count):
            audit.append(session, (1, 2, None)[i % 3], "note", T0 + timedelta(minutes=i), actor="a@example.com",
                         detail={"n": i})


def sign_log(engine, at=T0):
    with transaction(engine) as session:
        return checkpoints.sign(session, SIGNER, at, factories.PARTIES)[0]


def test_a_checkpoint_covers_every_chain_and_is_signed(any_engine):
    add_entries(any_engine, 7)
    signed = sign_log(any_engine)
    assert signed.checkpoint.size == 7
    assert check_signature(signed, SIGNER.public_key) is None
    with Session(any_engine) as session:
        leaves = checkpoints.log_leaves(session)
        entries = [e for pid in (1, 2, None) for e in audit.chain(session, pid)]
    assert not leaves.problems
    assert sorted(leaves.hashes) == sorted(checkpoints.entry_leaf(e) for e in entries)
    assert merkle.root(leaves.hashes).hex() == signed.checkpoint.root

    with transaction(any_engine) as session:
        again, frontier, _ = checkpoints.sign(session, SIGNER, T0, ())
    assert again is None  # nothing new: no second checkpoint of the same size
    assert frontier.size == 7
    add_entries(any_engine, 2, start=7)
    with transaction(any_engine) as session:  # from the frontier kept: only the new leaves are read
        later = checkpoints.sign(session, SIGNER, T0 + timedelta(hours=1), (), known=frontier).signed
    assert later.checkpoint.size == 9
    with Session(any_engine) as session:
        now = checkpoints.log_leaves(session).hashes
        assert checkpoints.latest(session).checkpoint == later.checkpoint
        assert checkpoints.at_size(session, 7).checkpoint == signed.checkpoint
    assert merkle.verify_consistency(7, 9, bytes.fromhex(signed.checkpoint.root),
                                     bytes.fromhex(later.checkpoint.root), merkle.consistency_proof(now, 7, 9))


def test_each_organisation_is_mailed_the_checkpoint(engine):
    users = factories.all_users(engine)
    add_entries(engine, 3)
    signed = sign_log(engine)
    with Session(engine) as session:
        mails = session.exec(select(OutboxMail).where(OutboxMail.kind == "checkpoint")).all()
    recipients = {mail.recipient for mail in mails}
    assert {u.email for u in users.values() if u.role in ("rep", "compliance", "admin")} <= recipients
    assert users["lead"].email not in recipients
    assert all(signed.checkpoint.root in mail.body and signed.signature in mail.body for mail in mails)


def test_checkpoint_tables_are_append_only(any_engine):
    add_entries(any_engine, 2)
    sign_log(any_engine)
    for statement in ("UPDATE checkpoint SET root = 'x'", "DELETE FROM log_leaf", "DELETE FROM checkpoint"):
        with pytest.raises(DatabaseError, match="append-only"), any_engine.begin() as conn:
            conn.execute(text(statement))


def test_a_cosignature_must_verify_with_the_organisations_registered_key(any_engine):
    add_entries(any_engine, 4)
    signed = sign_log(any_engine)
    pem = new_private_key_pem()
    witness = Signer(pem)
    with transaction(any_engine) as session:
        checkpoints.register_key(session, "sony", witness.public_pem(), "rep.sony@example.com", T0)

    with transaction(any_engine) as session, pytest.raises(CheckpointError, match="has no registered witness key"):
        checkpoints.add_cosignature(session, 4, "warner", witness.key_id, witness.cosign(signed.checkpoint),
                                    "rep.warner@example.com", T0)
    forged = sign(load_private_key(pem), signed.checkpoint.body())  # the log's text, not the cosignature's
    with transaction(any_engine) as session, pytest.raises(CheckpointError, match="does not verify"):
        checkpoints.add_cosignature(session, 4, "sony", witness.key_id, forged, "rep.sony@example.com", T0)

    for _ in range(2):  # submitted twice: stored once
        with transaction(any_engine) as session:
            stored = checkpoints.add_cosignature(session, 4, "sony", witness.key_id,
                                                 witness.cosign(signed.checkpoint), "rep.sony@example.com", T0)
    assert [(c.party, c.key_id) for c in stored.cosignatures] == [("sony", witness.key_id)]
    with Session(any_engine) as session:
        access = audit.chain(session, None)
    assert any(e.kind == "witness_key_registered" and e.party == "sony" for e in access)



def test_a_revoked_witness_keys_later_cosignatures_do_not_count(any_engine):
    add_entries(any_engine, 3)
    first = sign_log(any_engine)
    witness = Signer(new_private_key_pem())
    kid = witness.key_id
    people = {who: factories.user(any_engine, role, party, email=f"{who}@example.com")
              for who, role, party in (("sony_admin", "party_admin", "sony"), ("warner_admin", "party_admin", "warner"),
                                       ("rep", "rep", "sony"))}
    T1, T2 = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    with transaction(any_engine) as session:
        checkpoints.register_key(session, "sony", witness.public_pem(), "rep@example.com", T0)
        checkpoints.add_cosignature(session, 3, "sony", kid, witness.cosign(first.checkpoint), "rep@example.com", T0)

    for who in ("warner_admin", "rep"):  # another party's admin, and a rep, may not
        with transaction(any_engine) as session, pytest.raises(checkpoints.NotFound):
            checkpoints.revoke_key(session, people[who], kid, "lost", T1)
    with transaction(any_engine) as session, pytest.raises(CheckpointError, match="say why"):
        checkpoints.revoke_key(session, people["sony_admin"], kid, "  ", T1)
    with transaction(any_engine) as session:
        checkpoints.revoke_key(session, people["sony_admin"], kid, "laptop stolen", T1)
    with transaction(any_engine) as session, pytest.raises(CheckpointError, match="revoked already"):
        checkpoints.revoke_key(session, people["sony_admin"], kid, "again", T2)

    add_entries(any_engine, 2, start=3)
    later = sign_log(any_engine, T2)
    with transaction(any_engine) as session, pytest.raises(CheckpointError, match="was revoked"):
        checkpoints.add_cosignature(session, later.checkpoint.size, "sony", kid, witness.cosign(later.checkpoint),
                                    "rep@example.com", T2)
    with transaction(any_engine) as session, pytest.raises(CheckpointError, match="was revoked"):
        checkpoints.register_key(session, "sony", witness.public_pem(), "rep@example.com", T2)
    with transaction(any_engine) as session:  # one that raced the revocation and was stored after it
        session.add(CheckpointCosignature(size=later.checkpoint.size, party="sony", key_id=kid, time=T2,
                                          signature=witness.cosign(later.checkpoint), submitted_by="rep@example.com"))
    with Session(any_engine) as session:
        before = checkpoints.at_size(session, 3).cosignatures  # made before the revocation: it stands, marked
        assert [(c.party, c.key_revoked_at) for c in before] == [("sony", T1)]
        assert checkpoints.at_size(session, later.checkpoint.size).cosignatures == []  # it does not count
        [(key, revoked)] = checkpoints.witness_keys(session)
        assert (key.key_id, revoked.reason, revoked.revoked_by) == (kid, "laptop stolen", "sony_admin@example.com")
        entry = audit.chain(session, None)[-1]
    assert (entry.kind, entry.party, entry.detail) == ("witness_key_revoked", "sony",
                                                       {"key_id": kid, "reason": "laptop stolen"})
    for statement in ("UPDATE witness_key_revocation SET reason = 'x'", "DELETE FROM witness_key_revocation"):
        with pytest.raises(DatabaseError, match="append-only"), any_engine.begin() as conn:
            conn.execute(text(statement))
