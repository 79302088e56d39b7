"""ProposalWorkflow: one per proposal, id `proposal-<id>`.

A thin durable shell around `countersign.domain.routing.Review`: it waits for
decisions (Temporal Updates) and for the next deadline (a timer), asks the
review what happened, and records each step through an activity. Update
validators run the review's checks, so a bad call is refused before it
enters the history.

Changing this code once proposals are running: branch on
`workflow.patched(...)` (README, "Changing workflow code").
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from countersign.domain.errors import DomainError, GrantRefused
    from countersign.domain.grants import Consent
    from countersign.domain.routing import Event, Review, Status
    from workflows import search_attributes as sa
    from workflows.activities import ProposalActivities
    from workflows.messages import (
        AcknowledgeRequest,
        Carried,
        DecisionRecord,
        DecisionRequest,
        EvidenceRequest,
        EvidenceReview,
        GrantActionRequest,
        NewVersion,
        ProposalInput,
        QuestionSignal,
        ResubmitRequest,
        StepRecord,
        UpdateResult,
        WithdrawRequest,
    )

# Each step is recorded by a scheduled activity: its input, the step record,
# is in the history before the activity runs, so a workflow task run again
# finds the step there and never records it anew or differently. Recording
# retries until the database is back: a decision once accepted is never
# dropped. Each attempt is one short transaction, and a retried step that is
# stored already is skipped (ProposalActivities.record_step); an attempt
# lost with its worker is tried again after the timeout.
RECORD_OPTIONS = dict(
    start_to_close_timeout=timedelta(seconds=10),
    retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10)),
)
# Patches (docs/changing-workflows.md): a resubmission compares the new
# version with the last (material changes re-route, an unchanged one is
# refused); an approval goes on into its grants' lifecycle; an open question
# stops its party's clock where the policy says so.
MATERIAL_CHANGES = "material-changes"
GRANTS = "grants"
QUESTION_CLOCK = "question-clock"
# A long-lived grants' lifecycle continues as new when its history grows, carrying its state.
CONTINUE_AS_NEW = "grants-continue-as-new"


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
        self._record_lock = asyncio.Lock()  # one recording at a time, in order
        if input.carried is not None:  # a run continued as new: the grants' lifecycle goes on
            self._review, self._opening = input.carried.review, []
            self._consent: Consent | None = input.carried.consent
            self._step = input.carried.step
            self._stored: UpdateResult | None = input.carried.stored
            return
        # With the content, the proposal's risk tier shapes the route; a policy
        # without risk rules (every recorded history's) routes as before.
        self._review, self._opening = Review.open(input.policy, input.content["parties"], workflow.now(),
                                                  content=input.content)
        self._consent = None  # once approved, under a policy with [grants]
        self._step = 0
        self._stored = None  # the latest step stored, once the first is

    @workflow.run
    async def run(self, input: ProposalInput) -> str:
        if input.carried is not None:
            await self._run_grants(input)
            await workflow.wait_condition(workflow.all_handlers_finished)
            return self._review.status.value
        submitted = Event("submitted", workflow.now(), actor=input.owner, detail={"version": "1"})
        await self._record(
            [submitted, *self._opening], created_by=input.owner, new_version=NewVersion(1, input.content, input.owner, input.files)
        )
        await self._run_review()
        if self._approved and input.policy.grants and workflow.patched(GRANTS):
            await self._issue_grants(input)
            await self._run_grants(input)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._review.status.value

    @property
    def _approved(self) -> bool:
        return self._review.status in (Status.APPROVED, Status.APPROVED_PARTIAL)

    async def _run_review(self) -> None:
        """Until the review concludes: wait for a decision or the next deadline."""
        while not self._review.concluded:
            deadline = self._review.next_deadline()
            try:
                # The timer runs on across steps that leave the next deadline
                # where it was; a step that moves it starts the wait again.
                await workflow.wait_condition(
                    lambda: self._review.concluded or self._review.next_deadline() != deadline,
                    timeout=self._time_to(deadline),
                )
            except asyncio.TimeoutError:
                events = self._review.advance_clock(workflow.now())
                if events:
                    await self._record(events)

    async def _run_grants(self, input: ProposalInput) -> None:
        """The approval's grants, until none is active or suspended: wait for a
        party's action or the next moment (a reminder, an expiry, an obligation's
        due time), ask the consent what happened, record it. A widened launch
        scope opens a new approval round meanwhile; the grants in force stay so
        until it approves, when the new grants replace them. A long history
        continues as new (`_continue_as_new`)."""
        # Decided once per run: a run from before the patch runs on in one run, as it began;
        # a run continued as new is under the patch already.
        continues = input.carried is not None or workflow.patched(CONTINUE_AS_NEW)

        def too_long() -> bool:
            return continues and self._history_long()

        while self._consent.live:
            if too_long():
                await self._continue_as_new(input)
            if not self._review.concluded:  # a new round, for a wider launch scope
                await self._run_review()
                if self._approved:
                    await self._issue_grants(input)
                continue
            deadline = self._consent.next_deadline()
            try:
                await workflow.wait_condition(
                    lambda: not self._consent.live or self._consent.next_deadline() != deadline
                    or not self._review.concluded or too_long(),
                    timeout=self._time_to(deadline),
                )
            except asyncio.TimeoutError:
                events = self._consent.advance_clock(workflow.now())
                if events:
                    await self._record(events)

    def _history_long(self) -> bool:
        """Whether Temporal suggests continuing as new, or the history has reached the policy's limit."""
        info = workflow.info()
        limit = self._input.policy.grants.continue_as_new_after
        return info.is_continue_as_new_suggested() or (limit is not None
                                                        and info.get_current_history_length() >= limit)

    async def _continue_as_new(self, input: ProposalInput) -> None:
        """Hand the state to a new run once every update in flight is answered and recorded: an update
        arriving after this goes to the new run (the client addresses the workflow id, not the run)."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(ProposalInput(input.proposal_id, input.owner, input.content, input.policy,
                                               carried=Carried(self._review, self._consent, self._step, self._stored)))

    async def _issue_grants(self, input: ProposalInput) -> None:
        self._consent, events = Consent.issue(self._review, self._review.content or input.content, input.policy,
                                              workflow.now())
        await self._record(events)

    # -- signals -----------------------------------------------------------

    @workflow.signal
    async def question(self, signal: QuestionSignal) -> None:
        """A question opened or answered: the review stops or restarts the asking party's clock
        (the review loop's timer follows `next_deadline`), and records it."""
        if not workflow.patched(QUESTION_CLOCK):
            return  # a signal delivered before this handler existed: the run went on without it
        await workflow.wait_condition(self._opened)
        if signal.open:
            events = self._review.question_opened(signal.party, signal.question_id, workflow.now())
        else:
            events = self._review.question_closed(signal.question_id, workflow.now())
        if events:
            await self._record(events)

    # -- updates -----------------------------------------------------------

    @workflow.update
    async def stored(self) -> UpdateResult:
        """Returns once the proposal is in the database (used with update-with-start)."""
        await workflow.wait_condition(self._opened)
        return self._stored

    @workflow.update
    async def decide(self, request: DecisionRequest) -> UpdateResult:
        await workflow.wait_condition(self._opened)
        stage = self._review.stage.name
        events = self._apply(
            lambda: self._review.decide(
                request.party, request.decision, request.comment, request.version, request.actor,
                workflow.now(), request.on_behalf_of,
            )
        )
        decision_id = workflow.current_update_info().id
        return await self._record(events, decision=DecisionRecord(decision_id, request, stage))

    @decide.validator
    def _validate_decide(self, request: DecisionRequest) -> None:
        refuse_on_domain_error(
            lambda: self._review.check_decision(request.party, request.decision, request.comment, request.version)
        )

    @workflow.update
    async def resubmit(self, request: ResubmitRequest) -> UpdateResult:
        await workflow.wait_condition(self._opened)
        if workflow.patched(MATERIAL_CHANGES):
            events = self._apply(lambda: self._check_widening(request)
                                 or self._review.resubmit(request.actor, workflow.now(), request.content))
        else:
            events = self._apply(lambda: self._review.resubmit(request.actor, workflow.now()))
        return await self._record(events, new_version=NewVersion(self._review.version, request.content, request.actor,
                                                                 request.files, request.remove_files))

    @resubmit.validator
    def _validate_resubmit(self, request: ResubmitRequest) -> None:
        refuse_on_domain_error(lambda: self._check_widening(request) or self._review.check_resubmit(request.content))

    @workflow.update
    async def grant_action(self, request: GrantActionRequest) -> UpdateResult:
        """A party suspends, resumes or revokes its own grant."""
        events = self._apply(lambda: self._granted().act(request.party, request.action, request.reason,
                                                          request.actor, workflow.now()))
        return await self._record(events)

    @grant_action.validator
    def _validate_grant_action(self, request: GrantActionRequest) -> None:
        refuse_on_domain_error(lambda: self._granted().check_action(request.party, request.action, request.reason))

    @workflow.update
    async def submit_evidence(self, request: EvidenceRequest) -> UpdateResult:
        events = self._apply(lambda: self._granted().submit_evidence(request.obligation_id, request.text,
                                                                      request.actor, workflow.now(), request.file))
        return await self._record(events)

    @submit_evidence.validator
    def _validate_submit_evidence(self, request: EvidenceRequest) -> None:
        refuse_on_domain_error(lambda: self._granted().check_evidence(request.obligation_id))

    @workflow.update
    async def review_evidence(self, request: EvidenceReview) -> UpdateResult:
        events = self._apply(lambda: self._granted().review_evidence(
            request.obligation_id, request.party, request.accept, request.comment, request.actor, workflow.now()))
        return await self._record(events)

    @review_evidence.validator
    def _validate_review_evidence(self, request: EvidenceReview) -> None:
        refuse_on_domain_error(lambda: self._granted().check_review(request.obligation_id, request.party))

    @workflow.update
    async def withdraw(self, request: WithdrawRequest) -> UpdateResult:
        await workflow.wait_condition(self._opened)
        events = self._apply(lambda: self._review.withdraw(request.actor, request.reason, workflow.now()))
        return await self._record(events)

    @withdraw.validator
    def _validate_withdraw(self, request: WithdrawRequest) -> None:
        refuse_on_domain_error(self._review.check_open)

    @workflow.update
    async def acknowledge(self, request: AcknowledgeRequest) -> UpdateResult:
        await workflow.wait_condition(self._opened)
        events = self._apply(lambda: self._review.acknowledge(request.actor, workflow.now()))
        return await self._record(events)

    @acknowledge.validator
    def _validate_acknowledge(self, request: AcknowledgeRequest) -> None:
        refuse_on_domain_error(self._review.check_acknowledge)

    # -- internals ---------------------------------------------------------

    def _check_widening(self, request: ResubmitRequest) -> None:
        """An approved proposal is widened only while its grants run (a policy with [grants])."""
        if self._approved and self._consent is None:
            raise GrantRefused("this approval has no grants to widen: submit a new proposal for the wider launch scope")

    def _granted(self) -> Consent:
        if self._consent is None:
            raise GrantRefused("this proposal holds no grants: they are issued once it is approved")
        return self._consent

    def _opened(self) -> bool:
        """Whether the first step (the proposal itself) is stored."""
        return self._stored is not None

    def _apply(self, change: Callable[[], list[Event]]) -> list[Event]:
        """Run a change on the review; it re-checks, since another update may
        have changed the review after this one was validated."""
        try:
            return change()
        except DomainError as error:
            raise domain_failure(error) from None

    def _time_to(self, deadline: datetime | None) -> timedelta | None:
        if deadline is None:
            return None
        return max(deadline - workflow.now(), timedelta(0))

    async def _record(self, events: list[Event], **extra) -> UpdateResult:
        """Record a step and answer with the proposal's status and version as
        it stored them (an update's answer: its own step, not a later one)."""
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
            record = StepRecord(self._input.proposal_id, self._step, workflow.now(), snapshot, events,
                                consent=self._consent, **extra)
            await workflow.execute_activity_method(ProposalActivities.record_step, record, **RECORD_OPTIONS)
            self._stored = UpdateResult(snapshot.status.value, snapshot.version)
            return self._stored
