"""A bench-only prototype: ProposalWorkflow recording each step with a local
activity instead of a scheduled one, to measure what that would save
(bench/workflow_only.py). Not used by the service."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from countersign.routing import Event
    from workflows import search_attributes as sa
    from workflows.activities import ProposalActivities
    from workflows.messages import ProposalInput, StepRecord
    from workflows.proposal import RECORD_OPTIONS, ProposalWorkflow


@workflow.defn(name="ProposalWorkflow")
class LocalRecordProposalWorkflow(ProposalWorkflow):
    @workflow.run
    async def run(self, input: ProposalInput) -> str:
        return await super().run(input)

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
            await workflow.execute_local_activity_method(
                ProposalActivities.record_step,
                StepRecord(self._input.proposal_id, self._step, workflow.now(), snapshot, events, **extra),
                **RECORD_OPTIONS,
            )
