"""`countersign audit`: verify the hash chains, reconcile the trail with
Temporal and the database, and export it.

    countersign audit verify [--proposal ID] [--file export.jsonl]
    countersign audit reconcile [--proposal ID] [--strict]
    countersign audit export [--format jsonl|csv] [filters] [--output FILE]

Each exits 0 when everything checks out and 1 when anything does not (2
for a usage error), so they can run from cron or CI.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api import cli_checkpoints
from countersign.domain.errors import PolicyError
from countersign.domain.policy import load_policy
from countersign.domain.reconcile import ERROR, Disagreement
from countersign.domain.reconcile import reconcile as compare
from countersign.domain.routing import Status
from countersign.settings import Settings
from countersign.storage import audit, audit_export, export_attachments
from countersign.storage.audit_export import MATCHING, WHOLE, AuditFilter
from countersign.storage.db import make_engine, transaction
from countersign.storage.signatures import export_signatures
from countersign.storage.tables import Proposal

if TYPE_CHECKING:
    from temporalio.client import Client

# Temporal's modules are imported by `reconcile` alone, so that `verify` and
# `export` start quickly (as the rest of the command line does).

DEFAULT_TEMPORAL = "127.0.0.1:7233"
CONCURRENT_FETCHES = 8

audit_app = typer.Typer(
    name="audit",
    help="Verify, reconcile and export the audit trail.",
    no_args_is_help=True,
    add_completion=False,
)


def _engine(settings: Settings) -> Engine:
    return make_engine(settings.db_url)


def _out(line: str = "") -> None:
    typer.echo(line)


def _fail(line: str) -> None:
    typer.echo(line, err=True)


audit_app.command("key")(cli_checkpoints.key)


# -- verify -------------------------------------------------------------------


@audit_app.command()
def verify(
    proposal: Annotated[
        int | None, typer.Option("--proposal", min=1, help="Check this proposal's chain only.")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            exists=True,
            dir_okay=False,
            readable=True,
            help="Verify an export file (.jsonl, or .csv) on its own, without the database; "
            "with --checkpoint, also that each of its entries is in today's log.",
        ),
    ] = None,
    attachment: Annotated[
        list[Path] | None,
        typer.Option("--attachment", exists=True, dir_okay=False, readable=True,
                     help="With --file: a file attached on a proposal (repeatable); its SHA-256 must be "
                          "one the export's file entries commit to."),
    ] = None,
    checkpoint: cli_checkpoints.CheckpointOption = None,
    url: cli_checkpoints.UrlOption = None,
    token: cli_checkpoints.TokenOption = None,
    key: cli_checkpoints.KeyOption = None,
) -> None:
    """Check the hash chains; exit 1 naming the first broken entry.

    Every proposal's chain and the access log's, or one proposal's, or an
    export file's on its own. With --checkpoint: that today's log extends a
    checkpoint kept earlier, and holds the entries of --file.
    """
    if checkpoint is not None:
        if proposal is not None:
            raise typer.BadParameter("--checkpoint checks the whole log; leave out --proposal",
                                     param_hint="--proposal")
        raise typer.Exit(cli_checkpoints.verify_checkpoint(checkpoint, file, url, token, key))
    if url is not None or key is not None:
        raise typer.BadParameter("--url and --key go with --checkpoint", param_hint="--checkpoint")
    if file is not None:
        if proposal is not None:
            raise typer.BadParameter(
                "--file verifies the file alone; leave out --proposal", param_hint="--proposal"
            )
        raise typer.Exit(_verify_file(file) or _verify_attachments(file, attachment or []))
    if attachment:
        raise typer.BadParameter("--attachment is checked against an export: give --file", param_hint="--file")
    settings = Settings()
    engine = _engine(settings)
    try:
        with Session(engine) as session:
            if (
                proposal is not None
                and session.get(Proposal, proposal) is None
                and not audit.chain(session, proposal)
            ):
                _fail(f"No proposal {proposal} and no audit entries for it.")
                raise typer.Exit(1)
            report = audit.verify(session, proposal)
    finally:
        engine.dispose()
    if report.ok:
        _out(
            f"OK: {report.chains} chain{'s' if report.chains != 1 else ''}, {report.entries} entries: "
            "every hash and link checks out."
        )
        return
    _fail(f"BROKEN: {len(report.breaks)} of {report.chains} chains do not check out.")
    _fail(f"First broken entry: {report.breaks[0]}")
    for broken in report.breaks[1:]:
        _fail(f"Also broken: {broken}")
    raise typer.Exit(1)


def _verify_file(path: Path) -> int:
    report = audit_export.verify_file(path)
    for note in report.notes:
        _out(f"Note: {note}.")
    if report.ok:
        heads = ", ".join(
            f"{'access log' if key == 'access' else 'proposal ' + key} head {chain['head']}"
            for key, chain in report.chains.items()
        )
        _out(
            f"OK: {path.name}: {report.entries} entries in {len(report.chains)} chain"
            f"{'s' if len(report.chains) != 1 else ''} ({report.scope} chains), "
            "every hash and link checks out."
        )
        if heads:
            _out(f"Heads: {heads}")
        return 0
    _fail(f"BROKEN: {path.name}: {len(report.problems)} problem{'s' if len(report.problems) != 1 else ''}.")
    _fail(f"First: {report.problems[0]}")
    for problem in report.problems[1:50]:
        _fail(f"Also: {problem}")
    if len(report.problems) > 50:
        _fail(f"… and {len(report.problems) - 50} more.")
    return 1


def _verify_attachments(export: Path, attachments: list[Path]) -> int:
    matched, problems = export_attachments.check(export, attachments)
    for line in matched:
        _out(f"OK: {line}")
    for line in problems:
        _fail(f"BROKEN: {line}")
    return 1 if problems else 0


# -- reconcile -----------------------------------------------------------------


async def reconcile_all(engine: Engine, client: Client, proposal_ids: list[int]) -> list[Disagreement]:
    """Compare each proposal's trail with its Temporal history and the database."""
    from workflows import history

    gate = asyncio.Semaphore(CONCURRENT_FETCHES)

    async def fetch(pid: int):
        async with gate:
            return await history.load(client, pid)

    found: list[Disagreement] = []
    for start in range(0, len(proposal_ids), 100):
        batch = proposal_ids[start : start + 100]
        loaded = await asyncio.gather(*(fetch(pid) for pid in batch))
        with Session(engine) as session:
            for pid, one in zip(batch, loaded, strict=True):
                stored, decisions, entries = audit.stored_state(session, pid)
                found += compare(pid, stored, decisions, entries, one.facts)
    return found


@audit_app.command()
def reconcile(
    proposal: Annotated[
        int | None, typer.Option("--proposal", min=1, help="Reconcile this proposal only.")
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Also fail when a proposal's Temporal history cannot be read (e.g. past retention).",
        ),
    ] = False,
) -> None:
    """Compare each audit trail with its Temporal history and the database; exit 1 on any disagreement.

    Decisions (by decision id = update id), every audit entry against the
    events the workflow's steps recorded, and the proposal's status.
    """
    settings = Settings()
    engine = _engine(settings)
    try:
        with Session(engine) as session:
            ids = (
                [proposal]
                if proposal is not None
                else list(session.exec(select(Proposal.id).order_by(col(Proposal.id))))
            )
        found = asyncio.run(_reconcile(settings, engine, ids))
    finally:
        engine.dispose()
    errors = [d for d in found if d.severity == ERROR]
    warnings = [d for d in found if d.severity != ERROR]
    for d in warnings:
        _out(f"warning: {d}")
    for d in errors:
        _fail(f"DISAGREES: {d}")
    failing = len(errors) + (len(warnings) if strict else 0)
    proposals = len({d.proposal_id for d in errors})
    summary = (
        f"{len(ids)} proposal{'s' if len(ids) != 1 else ''} reconciled with Temporal and the database: "
        f"{len(errors)} disagreement{'s' if len(errors) != 1 else ''}"
        f"{f' in {proposals} proposals' if proposals > 1 else ''}, {len(warnings)} warning"
        f"{'s' if len(warnings) != 1 else ''}."
    )
    (_fail if failing else _out)(("FAILED: " if failing else "OK: ") + summary)
    if failing:
        raise typer.Exit(1)


async def _reconcile(settings: Settings, engine: Engine, ids: list[int]) -> list[Disagreement]:
    from workflows.client import TemporalConfigError, connect, connect_config

    try:
        config = connect_config(settings.temporal_address, settings.temporal_namespace)
    except TemporalConfigError as error:
        _fail(str(error))
        raise typer.Exit(2) from None
    address = config.get("target_host", DEFAULT_TEMPORAL)  # none configured: `countersign up`'s own
    try:
        client = await connect(address, settings.temporal_namespace)
    except Exception as error:  # noqa: BLE001  (any failure to connect is the same message)
        _fail(f"Cannot reach Temporal at {address}: {error}. Set TEMPORAL_ADDRESS.")
        raise typer.Exit(2) from None
    return await reconcile_all(engine, client, ids)


# -- export ---------------------------------------------------------------------


def _policy_parties(settings: Settings) -> list[str]:
    try:
        return list(load_policy(settings.policy).parties)
    except PolicyError as exc:
        _fail(f"countersign: {exc}")
        raise typer.Exit(2) from None


def _day(value: str | None, name: str):
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter("a date as YYYY-MM-DD", param_hint=name) from None


@audit_app.command()
def export(
    format: Annotated[str, typer.Option("--format", help="jsonl (verifiable with --file) or csv.")] = "jsonl",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", dir_okay=False, help="Write here, not to stdout.")
    ] = None,
    proposal: Annotated[int | None, typer.Option("--proposal", min=1, help="One proposal.")] = None,
    party: Annotated[
        str | None, typer.Option("--party", help="Proposals touching this label's catalog.")
    ] = None,
    status: Annotated[str | None, typer.Option("--status", help="Proposals with this status.")] = None,
    stage: Annotated[str | None, typer.Option("--stage", help="Proposals at this stage.")] = None,
    actor: Annotated[
        str | None, typer.Option("--actor", help="With an event by this person (e-mail or name).")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="With an event of this kind.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="With an event on or after this UTC day.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="With an event on or before this UTC day.")
    ] = None,
    text: Annotated[str | None, typer.Option("--text", help="Free text in proposals and events.")] = None,
    scope: Annotated[
        str, typer.Option("--scope", help="whole: entire chains; matching: only matching events.")
    ] = WHOLE,
    access: Annotated[bool, typer.Option("--access", help="Include the access log.")] = False,
) -> None:
    """Export audit entries with their chain hashes (JSON Lines or CSV).

    Whole chains by default: each proposal's trail verifies from GENESIS
    with `countersign audit verify --file`.
    """
    if format not in ("jsonl", "csv"):
        raise typer.BadParameter("jsonl or csv", param_hint="--format")
    if scope not in (WHOLE, MATCHING):
        raise typer.BadParameter("whole or matching", param_hint="--scope")
    settings = Settings()
    if party is not None and party not in (parties := _policy_parties(settings)):
        raise typer.BadParameter(f"one of the policy's parties: {', '.join(parties)}", param_hint="--party")
    if status is not None and status not in {s.value for s in Status}:
        raise typer.BadParameter(f"one of {', '.join(s.value for s in Status)}", param_hint="--status")
    f = AuditFilter(
        proposal,
        party,
        status,
        stage,
        actor,
        kind,
        _day(since, "--since"),
        _day(until, "--until"),
        text,
        scope,
        access,
    )
    engine = _engine(settings)
    reader = f"cli:{getpass.getuser()}"
    try:
        with Session(engine) as session:
            ids = audit_export.matching_proposal_ids(session, f)
        with transaction(engine) as session:
            audit.log_read(
                session,
                reader,
                "cli-export",
                ids,
                format=format,
                scope=scope,
                filters=" ".join(f"{k}={v}" for k, v in f.as_dict().items()),
            )
        entries = audit_export.export_entries(engine, f, ids)
        with Session(engine) as session:
            signed = export_signatures(session, ids)
        if format == "csv":
            lines = audit_export.csv_rows(entries, signed)
        else:
            lines = audit_export.jsonl(entries, audit_export.header(f, reader, ids), signed)
        if output is None:
            for line in lines:
                sys.stdout.write(line)
            sys.stdout.flush()
        else:
            with output.open("w", encoding="utf-8", newline="") as handle:
                for line in lines:
                    handle.write(line)
            _fail(f"Wrote {output} ({len(ids)} proposals).")
    finally:
        engine.dispose()
