"""A label that kept a checkpoint catches history rewritten with full database
access: `countersign audit verify --checkpoint`, from the database and through
the API alone, and `countersign witness` refusing to co-sign a rewritten log.

The operator here owns the database and the log's signing key: it gets past
the append-only triggers, rewrites or drops an old entry, re-hashes every
later one so each chain verifies again, rebuilds the tree and signs fresh
checkpoints. Only a checkpoint kept outside can tell.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from api.cli import app as cli_app
from countersign.domain.checkpoint import Checkpoint, Signer, new_private_key_pem
from countersign.settings import Settings
from countersign.storage import audit, audit_export, checkpoints
from countersign.storage.accounts import create_token
from countersign.storage.db import transaction
from countersign.storage.tables import AuditEntry
from tests import factories
from tests.audit.conftest import database_url, past_the_triggers
from tests.live_server import LiveServer

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
KEY = new_private_key_pem()
SIGNER = Signer(KEY)


@pytest.fixture
def run(engine, tmp_path):
    return _runner(engine, tmp_path)


def _runner(engine, tmp_path):
    """`await run(*args)`: the `countersign` command line against the test database, with the log's key."""
    runner = CliRunner()
    env = {"COUNTERSIGN_DATABASE_URL": database_url(engine), "COUNTERSIGN_CHECKPOINT_KEY": KEY,
           "COUNTERSIGN_DATA_DIR": str(tmp_path / "data")}

    async def invoke(*args: str):
        return await asyncio.to_thread(runner.invoke, cli_app, list(args), env=env, catch_exceptions=False)

    return invoke


def add_entries(engine, count: int, start: int = 0) -> None:
    with transaction(engine) as session:
        for i in range(start, start + count):
            audit.append(session, (1, 2, None)[i % 3], "decided" if i % 3 else "sign_in", T0 + timedelta(minutes=i),
                         actor=f"rep{i % 3}@example.com", party="sony" if i % 3 == 1 else None,
                         detail={"comment": f"entry {i}"})


def sign_checkpoint(engine, at=T0):
    with transaction(engine) as session:
        return checkpoints.sign(session, SIGNER, at, ())[0]


def keep(signed, path):
    path.write_text(json.dumps(signed.as_json()))
    return str(path)


def export_chain(engine, proposal_id, path):
    """What a label keeps of its own decisions: a JSON Lines export of a chain."""
    with Session(engine) as session:
        entries = audit.chain(session, proposal_id)
    head = audit_export.header(audit_export.AuditFilter(proposal_id=proposal_id), "rep1@example.com", [proposal_id])
    path.write_text("".join(audit_export.jsonl(entries, head)))
    return str(path)


# -- the operator's rewrite ----------------------------------------------------------


def rehash_chain(conn, proposal_id: int | None) -> None:
    """Make every hash and link of a chain check out again, in place."""
    with Session(bind=conn) as session:
        prev = audit.GENESIS
        for entry in audit.chain(session, proposal_id):
            new = audit.entry_hash(prev, entry)
            conn.execute(text("UPDATE audit_entry SET prev_hash = :p, hash = :h WHERE id = :id"),
                         {"p": prev, "h": new, "id": entry.id})
            prev = new


def rebuild_tree_and_resign(engine) -> None:
    """Throw away the tree and its checkpoints, sequence it again and sign it with the log's key."""
    with past_the_triggers(engine) as conn:
        for table in ("checkpoint_cosignature", "checkpoint", "log_leaf"):
            conn.execute(text(f"DELETE FROM {table}"))
    sign_checkpoint(engine, T0 + timedelta(days=1))


def rewrite_entry(engine, proposal_id: int, seq: int, comment: str) -> None:
    with past_the_triggers(engine) as conn:
        entry_id = conn.execute(select(AuditEntry.id).where(AuditEntry.proposal_id == proposal_id,
                                                            AuditEntry.seq == seq)).scalar_one()
        detail = json.dumps({"comment": comment})
        cast = "CAST(:d AS json)" if engine.dialect.name == "postgresql" else ":d"
        conn.execute(text(f"UPDATE audit_entry SET detail = {cast} WHERE id = :id"), {"d": detail, "id": entry_id})
        rehash_chain(conn, proposal_id)
    rebuild_tree_and_resign(engine)


def drop_entry(engine, proposal_id: int, seq: int) -> None:
    with past_the_triggers(engine) as conn:
        conn.execute(text("DELETE FROM audit_entry WHERE proposal_id = :p AND seq = :s"), {"p": proposal_id, "s": seq})
        with Session(bind=conn) as session:
            later = session.exec(select(AuditEntry.id).where(AuditEntry.proposal_id == proposal_id,
                                                             AuditEntry.seq > seq)
                                 .order_by(col(AuditEntry.seq))).all()
        for entry_id in later:
            conn.execute(text("UPDATE audit_entry SET seq = seq - 1 WHERE id = :id"), {"id": entry_id})
        rehash_chain(conn, proposal_id)
    rebuild_tree_and_resign(engine)


# -- from the database -----------------------------------------------------------------


async def test_the_log_extends_a_kept_checkpoint_and_holds_the_exported_entries(engine, run, tmp_path):
    add_entries(engine, 9)
    kept = keep(sign_checkpoint(engine), tmp_path / "kept.json")
    export = export_chain(engine, 1, tmp_path / "mine.jsonl")
    add_entries(engine, 5, start=9)
    sign_checkpoint(engine, T0 + timedelta(hours=1))
    add_entries(engine, 2, start=14)  # not in a checkpoint yet: today's log holds them all the same

    result = await run("audit", "verify", "--checkpoint", kept, "--file", export)
    assert result.exit_code == 0, result.output
    assert "today's log (size 16) extends the checkpoint of size 9" in result.output
    assert "checked 3 exported entries for inclusion" in result.output

    key = await run("audit", "key")
    assert key.exit_code == 0 and key.stdout.strip() == SIGNER.public_pem().strip()


async def test_a_rewritten_and_rehashed_entry_is_caught_by_a_kept_checkpoint(any_engine, tmp_path):
    engine = any_engine
    run = _runner(engine, tmp_path)
    add_entries(engine, 9)
    kept = keep(sign_checkpoint(engine), tmp_path / "kept.json")
    export = export_chain(engine, 1, tmp_path / "mine.jsonl")

    rewrite_entry(engine, 1, 2, "Rejected")  # proposal 1's second entry: a decision, now the other way
    add_entries(engine, 3, start=9)
    sign_checkpoint(engine, T0 + timedelta(days=2))

    chains = await run("audit", "verify")
    assert chains.exit_code == 0, chains.output  # every chain checks out again: the hash chain alone is fooled
    result = await run("audit", "verify", "--checkpoint", kept, "--file", export)
    assert result.exit_code == 1
    assert "BROKEN: today's log (size 12" in result.output
    assert "does not extend the checkpoint of size 9" in result.output
    assert "proposal 1, entry seq 2: not in today's log" in result.output


async def test_a_dropped_entry_is_caught_by_a_kept_checkpoint(engine, run, tmp_path):
    add_entries(engine, 9)
    kept = keep(sign_checkpoint(engine), tmp_path / "kept.json")
    drop_entry(engine, 2, 2)
    add_entries(engine, 1, start=9)
    sign_checkpoint(engine, T0 + timedelta(days=2))
    assert (await run("audit", "verify")).exit_code == 0
    result = await run("audit", "verify", "--checkpoint", kept)
    assert result.exit_code == 1
    assert "does not extend the checkpoint of size 9" in result.output


async def test_a_forged_checkpoint_is_refused(engine, run, tmp_path):
    add_entries(engine, 4)
    signed = sign_checkpoint(engine).as_json()
    other = Signer(new_private_key_pem())
    forged = other.sign(Checkpoint(4, "ab" * 32, T0)).as_json()
    (tmp_path / "root.json").write_text(json.dumps({**signed, "root": "ab" * 32}))
    (tmp_path / "other.json").write_text(json.dumps(forged | {"key_id": signed["key_id"]}))
    for name in ("root.json", "other.json"):
        result = await run("audit", "verify", "--checkpoint", str(tmp_path / name))
        assert result.exit_code == 1
        assert "the kept checkpoint (size 4): its signature does not verify" in result.output
    (tmp_path / "other.pem").write_text(other.public_pem())
    result = await run("audit", "verify", "--checkpoint", str(tmp_path / "root.json"), "--key",
                       str(tmp_path / "other.pem"))
    assert result.exit_code == 1 and f"names key {signed['key_id']}, not the log's key {other.key_id}" in result.output
    (tmp_path / "bad.json").write_text('{"size": "four"}')
    result = await run("audit", "verify", "--checkpoint", str(tmp_path / "bad.json"))
    assert result.exit_code == 1 and "the checkpoint has no root, time, signature, key_id" in result.output


# -- through the API alone, and the witness --------------------------------------------


@pytest.fixture
def server(dev_temporal, engine, tmp_path):
    settings = Settings(data_dir=tmp_path, secret_key="live-" + uuid.uuid4().hex, policy=factories.ONE_STAGE,
                        task_queue=f"ckpt-{uuid.uuid4().hex[:8]}", checkpoint_key=KEY)
    live = LiveServer(dev_temporal.client.service_client.config.target_host, engine, settings).start()
    yield live
    live.stop()


async def test_a_label_with_only_the_api_catches_a_rewrite_and_its_witness_will_not_cosign_it(
        engine, server, tmp_path):
    users = factories.all_users(engine)
    with transaction(engine) as session:
        token = create_token(session, users["sony"].email, scopes=factories.token_scopes(session, users["sony"].email))
    run = _runner(engine, tmp_path)  # the label's machine uses --url, never the database
    witness = str(tmp_path / "witness")
    api = ("--url", server.url, "--token", token)

    add_entries(engine, 9)
    first = sign_checkpoint(engine)
    size = first.checkpoint.size  # the entries above, and the token's creation on the access chain
    assert (await run("witness", "init", "--dir", witness)).exit_code == 0
    registered = await run("witness", "register", *api, "--dir", witness)
    assert registered.exit_code == 0 and "for sony" in registered.output, registered.output
    cosigned = await run("witness", "cosign", *api, "--dir", witness)
    assert cosigned.exit_code == 0, cosigned.output
    with Session(engine) as session:
        assert [c.party for c in checkpoints.at_size(session, size).cosignatures] == ["sony"]

    forged = {**first.as_json(), "root": "ab" * 32}
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    refused = await run("witness", "cosign", *api, "--dir", witness, "--checkpoint", str(tmp_path / "forged.json"))
    assert refused.exit_code == 1 and "its signature does not verify" in refused.output

    kept = keep(first, tmp_path / "kept.json")
    export = export_chain(engine, 1, tmp_path / "mine.jsonl")
    add_entries(engine, 3, start=9)
    second = sign_checkpoint(engine, T0 + timedelta(hours=1)).checkpoint.size  # with the key's registration
    assert (await run("witness", "cosign", *api, "--dir", witness)).exit_code == 0
    honest = await run("audit", "verify", "--checkpoint", kept, "--file", export, *api)
    assert honest.exit_code == 0, honest.output
    assert f"today's log (size {second}) extends the checkpoint of size {size}" in honest.output
    assert "the latest checkpoint is co-signed by sony" in honest.output

    # Sony's party admin revokes the key (say it leaked): the cosignature made before still counts, noted.
    admin = factories.user(engine, "party_admin", "sony", email="admin.sony@example.com")
    with transaction(engine) as session:
        admin_token = create_token(session, admin.email, scopes=())
    revoked = await run("witness", "revoke", "--url", server.url, "--token", admin_token, "--dir", witness,
                        "--reason", "key leaked")
    assert revoked.exit_code == 0 and f"revoked key {registered.output.split()[2]} of sony" in revoked.output
    noted = await run("audit", "verify", "--checkpoint", kept, "--file", export, *api)
    assert noted.exit_code == 0 and "co-signed by sony (before its key was revoked" in noted.output, noted.output
    refused = await run("witness", "revoke", "--url", server.url, "--token", token, "--dir", witness, "--reason", "x")
    assert refused.exit_code == 1 and "403" in refused.output  # a rep's token revokes nothing

    rewrite_entry(engine, 1, 2, "Rejected")
    caught = await run("audit", "verify", "--checkpoint", kept, "--file", export, *api)
    assert caught.exit_code == 1
    assert f"does not extend the checkpoint of size {size}" in caught.output
    refused = await run("witness", "cosign", *api, "--dir", witness)
    assert refused.exit_code == 1
    assert f"does not extend the last one witnessed ({second})" in refused.output or "another root" in refused.output
