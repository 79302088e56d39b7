"""ProposalWorkflow: one per proposal, id `proposal-<id>`.

A thin durable shell around `countersign.domain.routing.Review`: it waits for
decisions (Temporal Updates) and for the next deadline (a timer), asks the
review what happened, and records each step through a local activity. Update
validators run the review's checks, so a bad call is refused before it
enters the history.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from countersign.domain.errors import DomainError
    from countersign.domain.routing import Event, Review
    from workflows import search_attributes as sa
    from workflows.activities import STEP_DIVERGED, ProposalActivities
    from workflows.messages import (
        AcknowledgeRequest,
        DecisionRecord,
        DecisionRequest,
        NewVersion,
        ProposalInput,
        ProposalView,
        ResubmitRequest,
        StepRecord,
        UpdateResult,
        WithdrawRequest,
    )

# Steps are recorded by a local activity, in the workflow task that makes
# them: one task per decision instead of two and an activity task. Runs that
# began before this change keep recording with a scheduled activity.
LOCAL_RECORDING = "record-step-local"

# The deadline timer runs on across steps that leave the next deadline where
# it was (most decisions), instead of being cancelled and started again at
# every step. Runs that began before this change keep restarting it.
KEEP_DEADLINE_TIMER = "keep-deadline-timer"

# Recording retries until the database is back: a decision once accepted is
# never dropped. Each attempt is one short transaction.
RECORD_OPTIONS = dict(
    start_to_close_timeout=timedelta(seconds=30),
    retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10)),
)


def domain_failure(error: DomainError) -> ApplicationError:
    """A domain error as a failure the client can map back (type = class name)."""
    return ApplicationError(str(error), type=type(error).__name__, non_retryable=True)


def refuse_on_domain_error(check: Callable[[], None]) -> None:
    try:
        check()
    except DomainError as error:
        raise domain_failure(error) from None


@workflow.defn
class ProposalWorkflow:
    @workflow.init
    def __init__(self, input: ProposalInput) -> None:
        self._input = input
        self._review, self._opening = Review.open(input.policy, input.content["parties"], workflow.now())
        self._recorded = False
        self._changed = False
        self._step = 0
        # The latest step stored, the latest version's content and the first
        # step's time: what updates answer with (ProposalView).
        self._stored: StepRecord | None = None
        self._content = input.content
        self._created_at: datetime | None = None
        self._record_lock = asyncio.Lock()  # one recording at a time, in order

    @workflow.run
    async def run(self, input: ProposalInput) -> str:
        submitted = Event("submitted", workflow.now(), actor=input.owner, detail={"version": "1"})
        await self._record(
            [submitted, *self._opening], created_by=input.owner, new_version=NewVersion(1, input.content, input.owner)
        )
        self._recorded = True
        while not self._review.concluded:
            self._changed = False
            deadline = self._review.next_deadline()
            try:
                await workflow.wait_condition(self._wait_ends(deadline), timeout=self._time_to(deadline))
            except asyncio.TimeoutError:
                events = self._review.advance_clock(workflow.now())
                if events:
                    await self._record(events)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._review.status.value

    # -- updates -----------------------------------------------------------

    @workflow.update
    async def stored(self) -> UpdateResult:
        """Returns once the proposal is in the database (used with update-with-start)."""
        await workflow.wait_condition(lambda: self._recorded)
        return self._result()

    @workflow.update
    async def decide(self, request: DecisionRequest) -> UpdateResult:
        await workflow.wait_condition(lambda: self._recorded)
        stage = self._review.stage.name
        events = self._apply(
            lambda: self._review.decide(
                request.party, request.decision, request.comment, request.version, request.actor,
                workflow.now(), request.on_behalf_of,
            )
        )
        decision_id = workflow.current_update_info().id
        await self._record(events, decision=DecisionRecord(decision_id, request, stage))
        return self._result()

    @decide.validator
    def _validate_decide(self, request: DecisionRequest) -> None:
        refuse_on_domain_error(
            lambda: self._review.check_decision(request.party, request.decision, request.comment, request.version)
        )

    @workflow.update
    async def resubmit(self, request: ResubmitRequest) -> UpdateResult:
        await workflow.wait_condition(lambda: self._recorded)
        events = self._apply(lambda: self._review.resubmit(request.actor, workflow.now()))
        await self._record(events, new_version=NewVersion(self._review.version, request.content, request.actor))
        return self._result()

    @resubmit.validator
    def _validate_resubmit(self, request: ResubmitRequest) -> None:
        refuse_on_domain_error(self._review.check_resubmit)

    @workflow.update
    async def withdraw(self, request: WithdrawRequest) -> UpdateResult:
        await workflow.wait_condition(lambda: self._recorded)
        events = self._apply(lambda: self._review.withdraw(request.actor, request.reason, workflow.now()))
        await self._record(events)
        return self._result()

    @withdraw.validator
    def _validate_withdraw(self, request: WithdrawRequest) -> None:
        refuse_on_domain_error(self._review.check_open)

    @workflow.update
    async def acknowledge(self, request: AcknowledgeRequest) -> UpdateResult:
        await workflow.wait_condition(lambda: self._recorded)
        events = self._apply(lambda: self._review.acknowledge(request.actor, workflow.now()))
        await self._record(events)
        return self._result()

    @acknowledge.validator
    def _validate_acknowledge(self, request: AcknowledgeRequest) -> None:
        refuse_on_domain_error(self._review.check_acknowledge)

    # -- internals ---------------------------------------------------------

    def _apply(self, change: Callable[[], list[Event]]) -> list[Event]:
        """Run a change on the review; it re-checks, since another update may
        have changed the review after this one was validated."""
        try:
            events = change()
        except DomainError as error:
            raise domain_failure(error) from None
        self._changed = True
        return events

    def _wait_ends(self, deadline: datetime | None) -> Callable[[], bool]:
        """What ends the wait for `deadline` before it comes: the review's end,
        or a step that moved the next deadline (the wait starts again with a
        new timer). Before KEEP_DEADLINE_TIMER, any change did."""
        if workflow.patched(KEEP_DEADLINE_TIMER):
            return lambda: self._review.concluded or self._review.next_deadline() != deadline
        return lambda: self._changed or self._review.concluded

    def _time_to(self, deadline: datetime | None) -> timedelta | None:
        if deadline is None:
            return None
        return max(deadline - workflow.now(), timedelta(0))

    def _result(self) -> UpdateResult:
        """The proposal as the latest step stored it. An update calls this as
        soon as its own step is stored, before another step can be, so it
        answers with its own step, not with a change still being recorded."""
        stored = self._stored
        view = ProposalView.of(self._input, self._content, stored.snapshot, self._created_at, stored.at)
        return UpdateResult(view.status, view.version, view)

    async def _record(self, events: list[Event], **extra) -> None:
        async with self._record_lock:
            self._step += 1
            snapshot = self._review.snapshot()
            workflow.upsert_search_attributes(
                [
                    sa.STATUS.value_set(snapshot.status.value),
                    sa.STAGE.value_set(snapshot.stage),
                    sa.PENDING.value_set(snapshot.pending),
                    sa.NEXT_DUE.value_set(snapshot.next_due_at) if snapshot.next_due_at else sa.NEXT_DUE.value_unset(),
                ]
            )
            record = StepRecord(self._input.proposal_id, self._step, workflow.now(), snapshot, events, **extra)
            await self._write(record)
            self._stored = record
            if record.new_version:
                self._content = record.new_version.content
            if self._created_at is None:
                self._created_at = record.at

    async def _write(self, record: StepRecord) -> None:
        try:
            if workflow.patched(LOCAL_RECORDING):
                await workflow.execute_local_activity_method(ProposalActivities.record_step, record,
                                                             **RECORD_OPTIONS)
            else:
                await workflow.execute_activity_method(ProposalActivities.record_step, record, **RECORD_OPTIONS)
        except (ActivityError, ApplicationError) as error:
            # A local activity's failure arrives bare, a scheduled one's wrapped.
            failure = error.cause if isinstance(error, ActivityError) else error
            if isinstance(failure, ApplicationError) and failure.type == STEP_DIVERGED:
                # Not a workflow failure: fail this task, so that Temporal runs it
                # again, later, and its step replaces what the database holds.
                raise RuntimeError(failure.message) from error
            raise
