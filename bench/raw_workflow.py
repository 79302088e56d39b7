"""The raw engine's baseline for bench/decisions.py: a minimal five-party
approval workflow. Each party's decision is one Update; the workflow ends
when all five have approved. No activities, no database, no routing: what
the engine itself costs per decision."""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.exceptions import ApplicationError

PARTIES = ("sony", "universal", "warner", "merlin", "believe")


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
