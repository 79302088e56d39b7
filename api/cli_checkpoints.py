"""`countersign audit key` and `countersign audit verify --checkpoint`.

    countersign audit key [--generate]
    countersign audit verify --checkpoint FILE [--file EXPORT.jsonl] [--url URL --token TOKEN] [--key KEY.pem]

Without `--url`, today's log is read from the database the settings name
(as the other `audit` commands do) and its tree recomputed from the entries
themselves. With `--url`, only the API is used: the log's latest signed
checkpoint, and the consistency and inclusion proofs it serves, all checked
here against the checkpoint kept and the log's public key (`--key`, or the
one the API serves, which must then verify the kept checkpoint).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from api.log_client import ApiError, LogClient
from countersign.domain import merkle
from countersign.domain.checkpoint import (
    CheckpointError,
    SignedCheckpoint,
    load_public_key,
    new_private_key_base64,
)
from countersign.domain.log_check import (
    LogCheck,
    check_cosignatures,
    check_extends,
    check_included,
    check_signed,
    entry_name,
)
from countersign.settings import Settings
from countersign.storage import audit_export, checkpoints
from countersign.storage.db import make_engine

CheckpointOption = Annotated[
    Path | None,
    typer.Option("--checkpoint", exists=True, dir_okay=False, readable=True,
                 help="A checkpoint kept earlier (JSON, as mailed or served): prove today's log extends it."),
]
UrlOption = Annotated[
    str | None,
    typer.Option("--url", help="With --checkpoint: check through this Countersign's API instead of its database."),
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="COUNTERSIGN_TOKEN", help="An API token, for --url (or COUNTERSIGN_TOKEN)."),
]
KeyOption = Annotated[
    Path | None,
    typer.Option("--key", exists=True, dir_okay=False, readable=True,
                 help="The log's public key (PEM, from `countersign audit key`); default: the configured one, "
                      "or the API's with --url."),
]


def key(generate: Annotated[bool, typer.Option(
        "--generate", help="Print a new private key for COUNTERSIGN_CHECKPOINT_KEY instead.")] = False) -> None:
    """Print the public key checkpoints are signed with (PEM)."""
    if generate:
        typer.echo(new_private_key_base64())
        return
    try:
        signer = Settings().checkpoint_signer
    except (ValueError, CheckpointError) as exc:
        typer.echo(f"countersign: bad settings: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(signer.public_pem().strip())
    typer.echo(f"key id {signer.key_id}", err=True)


def _read_checkpoint(path: Path) -> SignedCheckpoint:
    try:
        return SignedCheckpoint.from_json(json.loads(path.read_text()))
    except ValueError as exc:  # CheckpointError and bad JSON
        raise CheckpointError(f"{path}: {exc}") from None


def _export_leaves(path: Path, report: LogCheck) -> list[tuple[str, bytes]]:
    """The leaf hash of every entry of a JSON Lines export, once the file verifies on its own."""
    if path.suffix.lower() == ".csv":
        report.failures.append(f"{path}: inclusion is checked from a JSON Lines export (.jsonl), not CSV")
        return []
    with path.open(encoding="utf-8") as lines:
        own = audit_export.verify_jsonl(lines, path.name)
    if not own.ok:
        report.failures.extend(f"{path.name}: {problem}" for problem in own.problems)
        return []
    leaves = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line) if line.strip() else {}
            if record.get("record") == "entry":
                leaves.append((entry_name(record), merkle.leaf_hash(checkpoints.leaf_data(record))))
    return leaves


def verify_checkpoint(checkpoint: Path, export: Path | None, url: str | None, token: str | None,
                      key_file: Path | None) -> int:
    report = LogCheck()
    try:
        kept = _read_checkpoint(checkpoint)
        key = load_public_key(key_file.read_text()) if key_file else None
        records = _export_leaves(export, report) if export else []
        if url:
            if not token:
                raise CheckpointError("--url needs an API token: --token or COUNTERSIGN_TOKEN")
            _through_api(LogClient(url, token), kept, key, records, report)
        else:
            _through_database(kept, key, records, report)
    except (CheckpointError, ApiError) as exc:
        report.failures.append(str(exc))
    if report.ok:
        typer.echo("OK: " + "; ".join(report.notes) + ".")
        return 0
    typer.echo(f"BROKEN: {report.failures[0]}", err=True)
    for failure in report.failures[1:]:
        typer.echo(f"Also: {failure}", err=True)
    return 1


def _through_api(client: LogClient, kept: SignedCheckpoint, key, records, report: LogCheck) -> None:
    key = key or client.public_key()
    if not check_signed(kept, key, "the kept checkpoint", report):
        return
    latest = client.latest()
    if not check_signed(latest, key, "the log's latest checkpoint", report):
        return
    check_cosignatures(latest, {row["key_id"]: row for row in client.witness_keys()}, report)
    root = bytes.fromhex(latest.checkpoint.root)
    check_extends(kept, latest.checkpoint.size, root, client.consistency, report)
    check_included(records, latest.checkpoint.size, root, client.inclusion, report)


def _through_database(kept: SignedCheckpoint, key, records, report: LogCheck) -> None:
    settings = Settings()
    try:
        key = key or settings.checkpoint_signer.public_key
    except ValueError as exc:
        raise CheckpointError(f"bad settings: {exc} (or give the log's public key with --key)") from None
    if not check_signed(kept, key, "the kept checkpoint", report):
        return
    engine = make_engine(settings.db_url)
    try:
        with Session(engine) as session:
            leaves = checkpoints.log_leaves(session)
            latest = checkpoints.latest(session)
            pending = checkpoints.pending_leaves(session)
    finally:
        engine.dispose()
    # Today's log: the tree so far, then the entries the next checkpoint will add, in its order.
    leaves.hashes.extend(leaf for _, leaf in pending)
    hashes = leaves.hashes
    size, root = len(hashes), merkle.root(hashes)

    def consistency(old: int, new: int) -> list[bytes]:
        return merkle.consistency_proof(hashes, old, new) if old < new else []

    def inclusion(leaf: bytes, at: int) -> tuple[int, list[bytes]] | None:
        try:
            return checkpoints.inclusion(leaves, leaf, at)
        except checkpoints.NotFound:
            return None

    check_extends(kept, size, root, consistency, report)
    if latest is not None and latest.checkpoint.size != kept.checkpoint.size \
            and check_signed(latest, key, "the log's latest checkpoint", report):
        check_extends(latest, size, root, consistency, report)
    report.failures.extend(leaves.problems)
    check_included(records, size, root, inclusion, report)
