"""Replay the recorded CheckpointWorkflow run against today's code (the
Schedule starts it every hour: runs in flight at a deploy meet the new code)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from workflows import sandbox
from workflows.checkpoint import CheckpointInput, CheckpointResult, CheckpointWorkflow

HISTORIES = sorted((Path(__file__).parent / "checkpoint_histories").glob("*.json"))


@workflow.defn(name="CheckpointWorkflow")
class SignsTwice:
    """A changed workflow: a second activity the recorded run never asked for."""

    @workflow.run
    async def run(self, request: CheckpointInput) -> CheckpointResult:
        for _ in range(2):
            result = await workflow.execute_activity("sign_checkpoint", request, result_type=CheckpointResult,
                                                     start_to_close_timeout=timedelta(minutes=1))
        return result


def history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"checkpoint-replay-{path.stem}", path.read_text())


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_checkpoint_run_replays(path):
    replayer = Replayer(workflows=[CheckpointWorkflow], workflow_runner=sandbox.runner())
    assert (await replayer.replay_workflow(history(path))).replay_failure is None


async def test_a_changed_checkpoint_workflow_breaks_replay():
    assert HISTORIES
    replayer = Replayer(workflows=[SignsTwice], workflow_runner=sandbox.runner())
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(history(HISTORIES[0]))
