"""The raw engine's baseline for bench/decisions.py: a minimal five-party
approval workflow. Each party's decision is one Update; the workflow ends
when all five have approved. No activities, no database, no routing: what
the engine itself costs per decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows import search_attributes as sa

PARTIES = ("sony", "universal", "warner", "merlin", "believe")
DUE = datetime(2030, 1, 1, tzinfo=UTC)


@dataclass
class RawInput:
    parties: list[str] = field(default_factory=lambda: list(PARTIES))


@dataclass
class RawDecision:
    party: str
    decision: str = "approve"


@workflow.defn(name="RawFivePartyApproval")
class RawFivePartyApproval:
    @workflow.init
    def __init__(self, input: RawInput) -> None:
        self._pending = set(input.parties)
        self._decisions: dict[str, str] = {}

    @workflow.run
    async def run(self, input: RawInput) -> dict[str, str]:
        await workflow.wait_condition(lambda: not self._pending)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._decisions

    @workflow.update
    def decide(self, decision: RawDecision) -> int:
        self._pending.discard(decision.party)
        self._decisions[decision.party] = decision.decision
        return len(self._pending)

    @decide.validator
    def _validate(self, decision: RawDecision) -> None:
        if decision.party not in self._pending:
            raise ApplicationError(f"{decision.party} is not pending", non_retryable=True)


@workflow.defn(name="RawFivePartyApprovalSearchable")
class RawSearchable(RawFivePartyApproval):
    """The raw workflow that also upserts Countersign's four search attributes
    at each decision, as ProposalWorkflow does (design: in-flight proposals
    searchable by status, stage, pending parties and next due time): what the
    engine costs per decision once proposals are searchable. Nothing else of
    Countersign."""

    @workflow.run
    async def run(self, input: RawInput) -> dict[str, str]:
        return await super().run(input)

    @workflow.update
    def decide(self, decision: RawDecision) -> int:
        left = super().decide(decision)
        pending = sorted(self._pending)
        workflow.upsert_search_attributes([
            sa.STATUS.value_set("in_review" if pending else "approved"),
            sa.STAGE.value_set("Review"),
            sa.PENDING.value_set(pending),
            sa.NEXT_DUE.value_set(DUE) if pending else sa.NEXT_DUE.value_unset(),
        ])
        return left

    @decide.validator
    def _validate(self, decision: RawDecision) -> None:
        super()._validate(decision)
