"""`countersign witness`: an organisation co-signs the log's checkpoints with
its own key, on its own machine, through the API alone.

    countersign witness init [--dir DIR]
    countersign witness register --url URL --token TOKEN [--dir DIR]
    countersign witness cosign --url URL --token TOKEN [--dir DIR] [--checkpoint FILE]
    countersign witness revoke --url URL --token TOKEN --reason WHY [--key-id ID | --dir DIR]

DIR (default ./witness) holds the organisation's private key
(`witness_key.pem`) and its state (`state.json`): the last checkpoint it
witnessed and the log's public key, pinned when it first witnessed. A
checkpoint is co-signed only if the log's key signed it and it extends the
last one witnessed (a consistency proof from the API); otherwise nothing is
signed and the command exits 1 saying why. A log that showed two
organisations two different histories would need both to sign both.

`revoke` (a party admin's token, or an admin's) revokes a key, for example
one whose private half was lost or exposed: its cosignatures from then on
do not count. Make a new key in a new directory and register it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from api.log_client import ApiError, LogClient
from countersign.domain import merkle
from countersign.domain.checkpoint import (
    CheckpointError,
    SignedCheckpoint,
    Signer,
    check_signature,
    load_public_key,
    new_private_key_pem,
    public_pem,
)

KEY_FILE = "witness_key.pem"
STATE_FILE = "state.json"

witness_app = typer.Typer(name="witness", help="Co-sign the audit log's checkpoints with your organisation's key.",
                          no_args_is_help=True, add_completion=False)

DirOption = Annotated[Path, typer.Option("--dir", file_okay=False, help="Where the key and state are kept.")]
UrlOption = Annotated[str, typer.Option("--url", help="Countersign's address, e.g. https://countersign.example.com")]
TokenOption = Annotated[str, typer.Option("--token", envvar="COUNTERSIGN_TOKEN",
                                          help="An API token of one of your organisation's reps (or admins).")]


def _fail(message: str) -> None:
    typer.echo(f"countersign witness: {message}", err=True)
    raise typer.Exit(1)


def _signer(directory: Path) -> Signer:
    path = directory / KEY_FILE
    if not path.exists():
        _fail(f"no witness key in {directory}: run `countersign witness init --dir {directory}` first")
    return Signer(path.read_text())


@witness_app.command()
def init(directory: DirOption = Path("witness")) -> None:
    """Make the organisation's witness key (once) and print its public key."""
    path = directory / KEY_FILE
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text(new_private_key_pem())
        path.chmod(0o600)
    signer = Signer(path.read_text())
    typer.echo(signer.public_pem().strip())
    typer.echo(f"key id {signer.key_id}", err=True)


@witness_app.command()
def register(url: UrlOption, token: TokenOption, directory: DirOption = Path("witness")) -> None:
    """Register the witness key's public half as your organisation's."""
    signer = _signer(directory)
    try:
        answer = LogClient(url, token).register_witness(signer.public_pem())
    except ApiError as exc:
        _fail(str(exc))
    typer.echo(f"registered key {answer['key_id']} for {answer['party']}")


@witness_app.command()
def cosign(url: UrlOption, token: TokenOption, directory: DirOption = Path("witness"),
           checkpoint: Annotated[Path | None, typer.Option(
               "--checkpoint", exists=True, dir_okay=False,
               help="A checkpoint file (as mailed); default: the log's latest.")] = None) -> None:
    """Check a checkpoint against the last one witnessed, co-sign it and submit the cosignature."""
    signer = _signer(directory)
    client = LogClient(url, token)
    state_path = directory / STATE_FILE
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    try:
        signed = (SignedCheckpoint.from_json(json.loads(checkpoint.read_text())) if checkpoint
                  else client.latest())
        log_key = load_public_key(state["log_key"]) if "log_key" in state else client.public_key()
        problem = check_signature(signed, log_key)
        if problem:
            _fail(f"checkpoint {signed.checkpoint.size}: {problem}")
        last = SignedCheckpoint.from_json(state["last"]) if "last" in state else None
        if last is not None:
            _check_extends(client, last, signed)
        client.cosign(signed.checkpoint.size, signer.key_id, signer.cosign(signed.checkpoint))
    except (ApiError, CheckpointError) as exc:
        _fail(str(exc))
    state_path.write_text(json.dumps({"log_key": public_pem(log_key), "last": signed.as_json()}, indent=2))
    typer.echo(f"witnessed checkpoint {signed.checkpoint.size} (root {signed.checkpoint.root})")


@witness_app.command()
def revoke(url: UrlOption, token: TokenOption,
           reason: Annotated[str, typer.Option("--reason", help="Why, in one line (kept with the revocation).")],
           key_id: Annotated[str | None, typer.Option("--key-id", help="The key to revoke; default: the one in --dir.")]
           = None, directory: DirOption = Path("witness")) -> None:
    """Revoke a witness key (needs a party admin's or an admin's API token)."""
    key_id = key_id or _signer(directory).key_id
    try:
        answer = LogClient(url, token).revoke_witness(key_id, reason)
    except ApiError as exc:
        _fail(str(exc))
    typer.echo(f"revoked key {answer['key_id']} of {answer['party']} at {answer['revoked_at']}")


def _check_extends(client: LogClient, last: SignedCheckpoint, new: SignedCheckpoint) -> None:
    old, now = last.checkpoint, new.checkpoint
    if now.size < old.size:
        _fail(f"checkpoint {now.size} is older than the last one witnessed ({old.size}): not co-signed")
    if now.size == old.size:
        if now.root != old.root:
            _fail(f"checkpoint {now.size} has another root than the one witnessed at that size: "
                  "the log shows two histories")
        return
    proof = client.consistency(old.size, now.size)
    if not merkle.verify_consistency(old.size, now.size, bytes.fromhex(old.root), bytes.fromhex(now.root), proof):
        _fail(f"checkpoint {now.size} does not extend the last one witnessed ({old.size}): "
              "history was rewritten; not co-signed")

