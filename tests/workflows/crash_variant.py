"""ProposalWorkflow whose workflow task fails once right after a decision's
step was recorded: what a worker dying between the step's activity and the
completion of the workflow task that receives its result leaves behind. A
module of its own, as the sandbox re-imports a workflow's module."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from countersign.domain.routing import Event

    from tests.workflows import crash_state
    from workflows.messages import ProposalInput, UpdateResult
    from workflows.proposal import ProposalWorkflow


@workflow.defn(name="ProposalWorkflow")
class FailsOnceAfterRecordingADecision(ProposalWorkflow):
    @workflow.run
    async def run(self, input: ProposalInput) -> str:
        return await super().run(input)

    async def _record(self, events: list[Event], **extra) -> UpdateResult:
        result = await super()._record(events, **extra)
        if extra.get("decision") and crash_state.first_time(self._input.proposal_id, self._step):
            raise RuntimeError("simulated crash after the step was recorded")
        return result
