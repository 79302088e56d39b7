"""ProposalWorkflow whose workflow task fails once right after a decision's
step was written: what a worker dying between its local activity's commit
and the task's completion leaves behind. A module of its own, as the
sandbox re-imports a workflow's module."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.workflows import crash_state
    from workflows.messages import ProposalInput, StepRecord
    from workflows.proposal import ProposalWorkflow


@workflow.defn(name="ProposalWorkflow")
class FailsOnceAfterWritingADecision(ProposalWorkflow):
    @workflow.run
    async def run(self, input: ProposalInput) -> str:
        return await super().run(input)

    async def _write(self, record: StepRecord) -> None:
        await super()._write(record)
        if record.decision and crash_state.first_time(record.proposal_id, record.step):
            raise RuntimeError("simulated crash after the step was written")
