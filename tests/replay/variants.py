"""Deliberately changed copies of ProposalWorkflow, registered under its
name, for the replay tests to prove the guard works.

A module of its own: the sandbox re-imports a workflow's module, so it
imports nothing but the workflow and the SDK.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from countersign.domain.routing import Event
    from workflows.messages import ProposalInput, UpdateResult
    from workflows.proposal import ProposalWorkflow

NAME = "ProposalWorkflow"
ANNOUNCE = dict(start_to_close_timeout=timedelta(seconds=30))


@workflow.defn(name=NAME)
class AnnouncesEachStep(ProposalWorkflow):
    """Unsafe change: schedules one more activity before recording each step."""

    @workflow.run
    async def run(self, input: ProposalInput) -> str:
        return await super().run(input)

    async def _record(self, events: list[Event], **extra) -> UpdateResult:
        await workflow.execute_activity("announce_step", self._step, **ANNOUNCE)
        return await super()._record(events, **extra)


@workflow.defn(name=NAME)
class SkipsReminders(ProposalWorkflow):
    """Unsafe change: stops recording reminders, so a timer's activity goes missing."""

    @workflow.run
    async def run(self, input: ProposalInput) -> str:
        return await super().run(input)

    async def _record(self, events: list[Event], **extra) -> UpdateResult:
        if events and all(event.kind == "reminded" for event in events):
            return self._stored
        return await super()._record(events, **extra)


@workflow.defn(name=NAME)
class PatchedAnnouncement(ProposalWorkflow):
    """The same change as AnnouncesEachStep, made safely: only runs started
    after the change take the new branch; recorded runs replay as before."""

    @workflow.run
    async def run(self, input: ProposalInput) -> str:
        return await super().run(input)

    async def _record(self, events: list[Event], **extra) -> UpdateResult:
        if workflow.patched("announce-each-step"):
            await workflow.execute_activity("announce_step", self._step, **ANNOUNCE)
        return await super()._record(events, **extra)
