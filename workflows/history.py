"""A proposal's Temporal event history, fetched through the client.

`load` reads the workflow's history, every run of it (a proposal whose
grants live long continues as new: each run's first event names the run
it continues), and gives it two ways: as the facts
reconciliation compares with the audit trail and the database (the step
records the workflow scheduled `record_step` with, each with its events,
decision and state, read from the ActivityTaskScheduled event's input; the
updates the workflow accepted; how it ended), and as rows for the
compliance timeline, one per history event with a sentence saying what it
was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from countersign.domain.reconcile import (
    Disagreement,
    RecordedDecision,
    RecordedEvent,
    RecordedStep,
    UpdateCall,
    WorkflowFacts,
    reconcile,
)
from countersign.storage import audit
from countersign.storage.queries import workflow_id

RECORD_ACTIVITY = "record_step"
TASK_EVENTS = frozenset(
    {
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
    }
)
CLOSE_STATUS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "COMPLETED",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "FAILED",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "TERMINATED",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "CANCELED",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "TIMED_OUT",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "CONTINUED_AS_NEW",
}


@dataclass
class HistoryRow:
    event_id: int
    at: datetime
    type: str  # "Update accepted", "Activity scheduled", ...
    summary: str
    task: bool = False  # workflow/activity task bookkeeping, hidden unless asked for
    step: int | None = None  # the record_step this event scheduled, if it did
    run: int = 1  # which run of the workflow, the first being 1 (event ids start again in each)


@dataclass
class ProposalHistory:
    facts: WorkflowFacts
    rows: list[HistoryRow] = field(default_factory=list)


def _type_name(event_type: int) -> str:
    return EventType.Name(event_type).removeprefix("EVENT_TYPE_").replace("_", " ").capitalize()


def _time(value: str | None) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _decode(client: Client, payloads: Payloads) -> list[Any]:
    if not payloads.payloads:
        return []
    try:
        return await client.data_converter.decode(payloads.payloads)
    except Exception as error:  # an undecodable payload is shown, not fatal
        return [f"<undecodable: {error}>"]


def _step(raw: dict, scheduled_event_id: int, run: int) -> RecordedStep:
    """A step record (workflows.messages.StepRecord) as the history's JSON has it."""
    decision = None
    if raw.get("decision"):
        request = raw["decision"]["request"]
        decision = RecordedDecision(
            decision_id=raw["decision"]["decision_id"],
            party=request["party"],
            decision=request["decision"],
            version=int(request["version"]),
            actor=request["actor"],
            comment=request.get("comment"),
            stage=raw["decision"].get("stage"),
        )
    return RecordedStep(
        step=int(raw["step"]),
        at=_time(raw["at"]),
        events=[
            RecordedEvent(e["kind"], _time(e["at"]), e.get("actor"), e.get("party"), e.get("detail") or {})
            for e in raw.get("events", [])
        ],
        status=raw["snapshot"]["status"],
        version=int(raw["snapshot"]["version"]),
        completed=False,
        scheduled_event_id=scheduled_event_id,
        decision=decision,
        run=run,
    )


def _step_summary(step: RecordedStep) -> str:
    return f"{', '.join(e.kind for e in step.events) or 'state only'} → {step.status}, version {step.version}"


def _describe_update(name: str, args: list[Any]) -> str:
    arg = args[0] if args and isinstance(args[0], dict) else {}
    if name == "decide" and arg:
        comment = f", comment “{arg.get('comment')}”" if arg.get("comment") else ""
        return (
            f"{arg.get('party')}: {arg.get('decision')} on version {arg.get('version')} "
            f"by {arg.get('actor')}{comment}"
        )
    if name == "withdraw" and arg:
        return f"by {arg.get('actor')}" + (f", reason “{arg['reason']}”" if arg.get("reason") else "")
    if arg.get("actor"):
        return f"by {arg['actor']}"
    return ""


async def _search_attributes(client: Client, event: HistoryEvent) -> str:
    fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
    shown = []
    for name in sorted(fields):
        values = await client.data_converter.decode([fields[name]])
        value = values[0] if values else None
        shown.append(f"{name}={', '.join(value) if isinstance(value, list) else value}")
    return "; ".join(shown)


async def parse(client: Client, wf_id: str, events: list[HistoryEvent], run: int = 1) -> ProposalHistory:
    """The facts and timeline rows of one workflow run's events (`run`: its number in the chain)."""
    facts = WorkflowFacts(workflow_id=wf_id)
    rows: list[HistoryRow] = []
    steps: dict[int, RecordedStep] = {}  # by scheduled event id
    updates: dict[str, UpdateCall] = {}  # by update id
    for event in events:
        kind = event.event_type
        at = event.event_time.ToDatetime(tzinfo=UTC)
        row = HistoryRow(event.event_id, at, _type_name(kind), "", task=kind in TASK_EVENTS, run=run)
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            attrs = event.workflow_execution_started_event_attributes
            args = await _decode(client, attrs.input)
            arg = args[0] if args and isinstance(args[0], dict) else {}
            title = (arg.get("content") or {}).get("title", "")
            if attrs.continued_execution_run_id:
                row.summary = f"run {run}, continuing run {attrs.continued_execution_run_id}"
            else:
                row.summary = f"{attrs.workflow_type.name} on task queue {attrs.task_queue.name}" + (
                    f": “{title}” submitted by {arg.get('owner')}" if arg else ""
                )
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
            args = await _decode(client, request.input.args)
            call = UpdateCall(
                request.meta.update_id, request.input.name, args, "pending", accepted_event_id=event.event_id
            )
            updates[call.update_id] = call
            detail = _describe_update(call.name, args)
            row.summary = f"{call.name} (update id {call.update_id})" + (f": {detail}" if detail else "")
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            attrs = event.workflow_execution_update_completed_event_attributes
            call = updates.get(attrs.meta.update_id)
            failed = attrs.outcome.HasField("failure")
            if call is not None:
                call.outcome = "failure" if failed else "success"
                call.failure = attrs.outcome.failure.message if failed else None
            name = call.name if call else "update"
            row.summary = f"{name} (update id {attrs.meta.update_id}) " + (
                f"failed: {attrs.outcome.failure.message}" if failed else "succeeded"
            )
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            row.summary = attrs.activity_type.name
            if attrs.activity_type.name == RECORD_ACTIVITY:
                args = await _decode(client, attrs.input)
                if args and isinstance(args[0], dict):
                    step = _step(args[0], event.event_id, run)
                    steps[event.event_id] = step
                    row.step = step.step
                    row.summary = f"record_step {step.step}: " + _step_summary(step)
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            scheduled = event.activity_task_completed_event_attributes.scheduled_event_id
            if scheduled in steps:
                steps[scheduled].completed = True
                row.step = steps[scheduled].step
                row.summary = f"record_step {steps[scheduled].step} written (scheduled in event {scheduled})"
            else:
                row.summary = f"activity scheduled in event {scheduled} completed"
        elif kind in (
            EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
            EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        ):
            attrs = (
                event.activity_task_failed_event_attributes
                if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
                else event.activity_task_timed_out_event_attributes
            )
            row.summary = f"activity scheduled in event {attrs.scheduled_event_id}: {attrs.failure.message}"
        elif kind == EventType.EVENT_TYPE_TIMER_STARTED:
            attrs = event.timer_started_event_attributes
            fires = at + attrs.start_to_fire_timeout.ToTimedelta()
            row.summary = f"timer {attrs.timer_id} set for {fires.isoformat()} (next deadline)"
        elif kind == EventType.EVENT_TYPE_TIMER_FIRED:
            row.summary = f"timer {event.timer_fired_event_attributes.timer_id} fired"
        elif kind == EventType.EVENT_TYPE_TIMER_CANCELED:
            row.summary = f"timer {event.timer_canceled_event_attributes.timer_id} canceled"
        elif kind == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            row.summary = await _search_attributes(client, event)
        elif kind in CLOSE_STATUS:
            facts.status = CLOSE_STATUS[kind]
            if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
                result = await _decode(client, event.workflow_execution_completed_event_attributes.result)
                facts.result = result[0] if result else None
                row.summary = f"result: {facts.result}"
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
                row.summary = event.workflow_execution_terminated_event_attributes.reason
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
                row.summary = event.workflow_execution_failed_event_attributes.failure.message
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                new_run = event.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
                row.summary = f"the grants' lifecycle goes on in run {run + 1} ({new_run})"
        rows.append(row)
    facts.steps = sorted(steps.values(), key=lambda s: s.step)
    facts.updates = list(updates.values())
    return ProposalHistory(facts, rows)


async def fetch_runs(client: Client, wf_id: str) -> list[WorkflowHistory]:
    """The history of every run of the workflow, oldest first: from the latest run back, each
    run's first event naming the run it continued as new (`continued_execution_run_id`)."""
    runs: list[WorkflowHistory] = []
    run_id = None
    while True:
        history = await client.get_workflow_handle(wf_id, run_id=run_id).fetch_history()
        runs.insert(0, history)
        run_id = history.events[0].workflow_execution_started_event_attributes.continued_execution_run_id
        if not run_id:
            return runs


def _chain(wf_id: str, runs: list[ProposalHistory]) -> ProposalHistory:
    """One history of the runs, oldest first: their steps and updates together, the last run's end."""
    last = runs[-1].facts
    facts = WorkflowFacts(wf_id, status=last.status, result=last.result,
                          steps=[s for run in runs for s in run.facts.steps],
                          updates=[u for run in runs for u in run.facts.updates])
    return ProposalHistory(facts, [row for run in runs for row in run.rows])


async def load(client: Client, proposal_id: int) -> ProposalHistory:
    """The proposal's workflow history, across its runs; `facts.found` is
    False when Temporal has none (never started, or past retention), and
    `facts.error` says why when it could not be read."""
    wf_id = workflow_id(proposal_id)
    try:
        runs = await fetch_runs(client, wf_id)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return ProposalHistory(
                WorkflowFacts(wf_id, found=False, error="Temporal has no workflow " + wf_id)
            )
        return ProposalHistory(WorkflowFacts(wf_id, found=False, error=f"Temporal refused: {error.message}"))
    except RuntimeError as error:  # the client could not connect
        return ProposalHistory(
            WorkflowFacts(wf_id, found=False, error=f"Temporal could not be reached: {error}")
        )
    return _chain(wf_id, [await parse(client, wf_id, list(run.events), number)
                          for number, run in enumerate(runs, start=1)])


async def reconcile_proposal(
    client: Client, session: Session, proposal_id: int
) -> tuple[ProposalHistory, list[Disagreement]]:
    """Load the proposal's history and compare it with its audit trail and the database."""
    loaded = await load(client, proposal_id)
    stored, decisions, entries = audit.stored_state(session, proposal_id)
    return loaded, reconcile(proposal_id, stored, decisions, entries, loaded.facts)
