"""Reconciliation: does a proposal's audit trail agree with its workflow's
Temporal history and with the database?

The workflow records every step through one scheduled activity,
`record_step`, whose input, the step record, the history keeps (its
ActivityTaskScheduled event): the events to append to the audit log, the
decision (with its id, the Temporal update id) and the snapshot of the
state. So the history says exactly what the audit trail and the decisions
table must hold:

- the audit trail, entry by entry, must be the events of the completed
  steps, in order (an edited, missing, extra or reordered entry shows, even
  one whose hashes were recomputed, and a cut-off tail too);
- every decision accepted by the workflow (a successful `decide` update)
  must be a `Decision` row with the same id, party, verdict, version, actor
  and comment, and the other way round;
- every `Decision` row must have its `decided` audit entry, and every
  `decided` audit entry its row;
- the proposal's stored status and version must be those of the last
  completed step, and, once the workflow has closed, its result; a concluded
  proposal's last `concluded` entry must name its status.

The history comes in as plain data (`WorkflowFacts`, built by
`workflows.history`); nothing here talks to Temporal or the database.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from difflib import SequenceMatcher
from typing import Any

from countersign.domain.routing import FINAL_STATUSES

ERROR = "error"
WARNING = "warning"


# -- what the history says -------------------------------------------------


@dataclass(frozen=True)
class RecordedEvent:
    """An event a workflow step asked to be appended to the audit log."""

    kind: str
    at: datetime
    actor: str | None = None
    party: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedDecision:
    decision_id: str
    party: str
    decision: str
    version: int
    actor: str
    comment: str | None
    stage: str | None = None


@dataclass
class RecordedStep:
    """One `record_step` activity of the workflow, as its history holds it."""

    step: int
    at: datetime
    events: list[RecordedEvent]
    status: str
    version: int
    completed: bool  # its ActivityTaskCompleted event is in the history
    scheduled_event_id: int = 0
    decision: RecordedDecision | None = None
    run: int = 1  # which run of the workflow scheduled it (a run continued as new counts on)


@dataclass
class UpdateCall:
    """A workflow update, as accepted (and perhaps completed) in the history."""

    update_id: str
    name: str
    args: list[Any]
    outcome: str  # "success", "failure", or "pending" (accepted, not completed yet)
    failure: str | None = None
    accepted_event_id: int = 0


@dataclass
class WorkflowFacts:
    workflow_id: str
    found: bool = True
    status: str = "RUNNING"  # RUNNING, COMPLETED, FAILED, TERMINATED, CANCELED, TIMED_OUT, CONTINUED_AS_NEW
    result: str | None = None  # the workflow's return value (the final status), once COMPLETED
    steps: list[RecordedStep] = field(default_factory=list)
    updates: list[UpdateCall] = field(default_factory=list)
    error: str | None = None  # why the history could not be read, if it could not

    def decisions(self) -> dict[str, RecordedDecision]:
        """Decisions the workflow accepted and recorded (completed steps), by decision id."""
        return {s.decision.decision_id: s.decision for s in self.steps if s.completed and s.decision}


# -- what the database says ------------------------------------------------


@dataclass(frozen=True)
class StoredProposal:
    id: int
    status: str
    version: int


@dataclass(frozen=True)
class StoredDecision:
    decision_id: str
    party: str
    decision: str
    version: int
    actor: str
    comment: str | None
    stage: str
    decided_at: datetime


@dataclass(frozen=True)
class StoredEntry:
    seq: int
    kind: str
    at: datetime
    actor: str | None
    party: str | None
    detail: dict[str, Any]


# -- findings ---------------------------------------------------------------


@dataclass(frozen=True)
class Disagreement:
    proposal_id: int
    kind: str
    message: str
    severity: str = ERROR

    def __str__(self) -> str:
        return f"proposal {self.proposal_id}: {self.message}"


def reconcile(
    proposal_id: int,
    proposal: StoredProposal | None,
    decisions: Sequence[StoredDecision],
    entries: Sequence[StoredEntry],
    history: WorkflowFacts | None,
) -> list[Disagreement]:
    """Every disagreement between the trail, the database and the history."""
    found: list[Disagreement] = []

    def report(kind: str, message: str, severity: str = ERROR) -> None:
        found.append(Disagreement(proposal_id, kind, message, severity))

    if proposal is None:
        report(
            "proposal_missing",
            "the proposal is not in the database"
            + (" but its workflow exists" if history and history.found else ""),
        )
    found += _database_vs_trail(proposal_id, proposal, decisions, entries)
    if history is None or not history.found:
        why = history.error if history and history.error else "no workflow history found"
        report("history_unavailable", f"the Temporal history could not be compared: {why}", WARNING)
        return found
    found += _trail_vs_history(proposal_id, entries, history)
    found += _decisions_vs_history(proposal_id, decisions, history)
    if proposal is not None:
        found += _status_vs_history(proposal_id, proposal, history)
    return found


def _describe(d: StoredDecision | RecordedDecision) -> str:
    return f"{d.decision_id} ({d.party} {d.decision} on version {d.version} by {d.actor})"


def _norm(comment: str | None) -> str | None:
    return (comment or "").strip() or None


def _decided_entry_matches(entry: StoredEntry, decision: StoredDecision) -> bool:
    detail = entry.detail
    return (
        entry.kind == "decided"
        and entry.party == decision.party
        and entry.actor == decision.actor
        and detail.get("decision") == decision.decision
        and str(detail.get("version")) == str(decision.version)
        and detail.get("stage", decision.stage) == decision.stage
        and _norm(detail.get("comment")) == _norm(decision.comment)
    )


def _database_vs_trail(
    proposal_id: int,
    proposal: StoredProposal | None,
    decisions: Sequence[StoredDecision],
    entries: Sequence[StoredEntry],
) -> list[Disagreement]:
    found = []
    decided = [e for e in entries if e.kind == "decided"]
    matched: set[int] = set()
    for decision in decisions:
        entry = next(
            (e for e in decided if e.seq not in matched and _decided_entry_matches(e, decision)), None
        )
        if entry is None:
            found.append(
                Disagreement(
                    proposal_id,
                    "decision_missing_from_trail",
                    f"decision {_describe(decision)} is in the database but the audit trail "
                    "has no matching 'decided' entry",
                )
            )
        else:
            matched.add(entry.seq)
    for entry in decided:
        if entry.seq not in matched:
            found.append(
                Disagreement(
                    proposal_id,
                    "decision_missing_from_database",
                    f"the audit trail records a decision at seq {entry.seq} ({entry.party} "
                    f"{entry.detail.get('decision')} on version {entry.detail.get('version')} "
                    f"by {entry.actor}, "
                    f"{entry.at.isoformat()}) that is not in the database's decisions",
                )
            )
    if proposal is not None and proposal.status in FINAL_STATUSES:
        concluded = [e for e in entries if e.kind == "concluded"]
        if not concluded:
            found.append(
                Disagreement(
                    proposal_id,
                    "status_mismatch",
                    f"the database says {proposal.status} but the audit trail has no 'concluded' entry",
                )
            )
        elif concluded[-1].detail.get("status") != proposal.status:
            found.append(
                Disagreement(
                    proposal_id,
                    "status_mismatch",
                    f"the database says {proposal.status} but the audit trail concluded "
                    f"{concluded[-1].detail.get('status')} (seq {concluded[-1].seq})",
                )
            )
    return found


def _fmt_event(kind: str, at: datetime, actor: str | None, party: str | None) -> str:
    who = ", ".join(x for x in (party, actor) if x)
    return f"'{kind}' at {at.isoformat()}" + (f" ({who})" if who else "")


def _differences(entry: StoredEntry, event: RecordedEvent) -> str:
    parts = []
    for name in ("kind", "at", "actor", "party", "detail"):
        mine, theirs = getattr(entry, name), getattr(event, name)
        if mine != theirs:
            show = (lambda v: v.isoformat()) if name == "at" else repr
            parts.append(f"{name} is {show(mine)} in the trail, {show(theirs)} in the history")
    return "; ".join(parts)


def expected_trail(
    history: WorkflowFacts, with_pending: bool = False
) -> list[tuple[RecordedStep, RecordedEvent]]:
    steps = sorted(history.steps, key=lambda s: s.step)
    return [(s, e) for s in steps if s.completed or with_pending for e in s.events]


def _matcher(entries: Sequence[StoredEntry], pairs: list[tuple[RecordedStep, RecordedEvent]]) -> SequenceMatcher:
    """The audit entries against the events the history recorded, compared on what both hold."""
    def key(e: StoredEntry | RecordedEvent) -> tuple:
        return (e.kind, e.at, e.actor, e.party, json.dumps(e.detail, sort_keys=True))

    return SequenceMatcher(None, [key(e) for e in entries], [key(ev) for _, ev in pairs], autojunk=False)


def align(entries: Sequence[StoredEntry], history: WorkflowFacts) -> dict[int, RecordedStep]:
    """Each audit entry (by seq) that matches an event of the history, with its step."""
    pairs = expected_trail(history, with_pending=True)
    matcher = _matcher(entries, pairs)
    aligned: dict[int, RecordedStep] = {}
    for block in matcher.get_matching_blocks():
        for i in range(block.size):
            aligned[entries[block.a + i].seq] = pairs[block.b + i][0]
    return aligned


def _trail_diff(
    proposal_id: int, entries: Sequence[StoredEntry], pairs: list[tuple[RecordedStep, RecordedEvent]]
) -> list[Disagreement]:
    found = []
    matcher = _matcher(entries, pairs)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            continue
        if op == "replace" and a2 - a1 == b2 - b1:
            for entry, (step, event) in zip(entries[a1:a2], pairs[b1:b2], strict=True):
                found.append(
                    Disagreement(
                        proposal_id,
                        "trail_differs",
                        f"audit entry seq {entry.seq} differs from what workflow step {step.step} recorded: "
                        f"{_differences(entry, event)}",
                    )
                )
            continue
        for step, event in pairs[b1:b2]:
            found.append(
                Disagreement(
                    proposal_id,
                    "missing_from_trail",
                    f"workflow step {step.step} recorded "
                    f"{_fmt_event(event.kind, event.at, event.actor, event.party)}, "
                    "which is not in the audit trail",
                )
            )
        for entry in entries[a1:a2]:
            found.append(
                Disagreement(
                    proposal_id,
                    "missing_from_history",
                    f"audit entry seq {entry.seq} "
                    f"{_fmt_event(entry.kind, entry.at, entry.actor, entry.party)} "
                    "is not in the workflow's Temporal history",
                )
            )
    return found


def _trail_vs_history(
    proposal_id: int, entries: Sequence[StoredEntry], history: WorkflowFacts
) -> list[Disagreement]:
    found = _trail_diff(proposal_id, entries, expected_trail(history))
    if found and any(not s.completed for s in history.steps):
        # A step in flight may have been written already, its completion not yet in the history.
        with_pending = _trail_diff(proposal_id, entries, expected_trail(history, with_pending=True))
        if len(with_pending) < len(found):
            found = with_pending
    return found


def _decisions_vs_history(
    proposal_id: int, decisions: Sequence[StoredDecision], history: WorkflowFacts
) -> list[Disagreement]:
    found = []
    recorded = history.decisions()
    in_flight = {s.decision.decision_id for s in history.steps if s.decision and not s.completed}
    stored = {d.decision_id: d for d in decisions}
    for decision_id, decision in recorded.items():
        row = stored.get(decision_id)
        if row is None:
            found.append(
                Disagreement(
                    proposal_id,
                    "decision_missing_from_database",
                    f"decision {_describe(decision)} is in the Temporal history but not in the database",
                )
            )
            continue
        differences = [
            f"{name} is {getattr(row, name)!r} in the database, {getattr(decision, name)!r} in the history"
            for name in ("party", "decision", "version", "actor")
            if str(getattr(row, name)) != str(getattr(decision, name))
        ]
        if _norm(row.comment) != _norm(decision.comment):
            differences.append(
                f"comment is {row.comment!r} in the database, {decision.comment!r} in the history"
            )
        if decision.stage is not None and row.stage != decision.stage:
            differences.append(f"stage is {row.stage!r} in the database, {decision.stage!r} in the history")
        if differences:
            found.append(
                Disagreement(
                    proposal_id,
                    "decision_differs",
                    f"decision {decision_id} differs: " + "; ".join(differences),
                )
            )
    for decision_id, row in stored.items():
        if decision_id not in recorded and decision_id not in in_flight:
            found.append(
                Disagreement(
                    proposal_id,
                    "decision_missing_from_history",
                    f"decision {_describe(row)} is in the database but the workflow's "
                    "Temporal history never accepted it",
                )
            )
    for call in history.updates:
        if call.name == "decide" and call.outcome == "success" and call.update_id not in recorded:
            found.append(
                Disagreement(
                    proposal_id,
                    "decision_missing_from_database",
                    f"the workflow accepted decision update {call.update_id} but no "
                    "completed step recorded it",
                )
            )
    return found


def _status_vs_history(
    proposal_id: int, proposal: StoredProposal, history: WorkflowFacts
) -> list[Disagreement]:
    found = []
    completed = [s for s in sorted(history.steps, key=lambda s: s.step) if s.completed]
    in_flight = any(not s.completed for s in history.steps)
    last = completed[-1] if completed else None
    if last is not None and not in_flight:
        if last.status != proposal.status:
            found.append(
                Disagreement(
                    proposal_id,
                    "status_mismatch",
                    f"the database says {proposal.status} but the workflow's last recorded "
                    f"step ({last.step}) says {last.status}",
                )
            )
        if last.version != proposal.version:
            found.append(
                Disagreement(
                    proposal_id,
                    "version_mismatch",
                    f"the database is at version {proposal.version} but the workflow's last "
                    f"recorded step ({last.step}) is at version {last.version}",
                )
            )
    if history.status == "COMPLETED":
        if history.result != proposal.status:
            found.append(
                Disagreement(
                    proposal_id,
                    "status_mismatch",
                    f"the database says {proposal.status} but the workflow completed with {history.result}",
                )
            )
    elif history.status != "RUNNING":
        found.append(
            Disagreement(
                proposal_id,
                "workflow_closed",
                f"the workflow ended {history.status.lower().replace('_', ' ')} while the "
                f"database says {proposal.status}",
            )
        )
    return found


def summarize(disagreements: Iterable[Disagreement]) -> tuple[int, int]:
    """(errors, warnings)."""
    items = list(disagreements)
    errors = sum(1 for d in items if d.severity == ERROR)
    return errors, len(items) - errors
