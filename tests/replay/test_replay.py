"""Replay recorded histories against today's workflow code.

Each file in histories/<generation>/ is a proposal as it ran under an
earlier version of the workflow (recorded with `python -m
tests.replay.record_histories`): `v0.2/` since 0.2.0's clean generation
(steps recorded by a scheduled activity; CHANGELOG.md). If a change to
ProposalWorkflow, its messages or the routing core would make a running
proposal take a different path, replay raises here and CI fails; a change
made behind `workflow.patched` replays them, and its new branch's runs are
recorded as a new generation beside them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from countersign.domain import calendar
from tests.replay import variants
from workflows import sandbox
from workflows.proposal import ProposalWorkflow
from workflows.worker import DEFAULT_CALENDARS

HISTORIES = Path(__file__).parent / "histories"
GENERATIONS = ("v0.2",)
# histories/grants/ holds runs of the "material-changes" and "grants" patches' branches
# (issue 26), histories/question_clock/ of the "question-clock" patch's (issue 21), and
# histories/continue_as_new/ the runs of one grants' lifecycle that continued as new
# ("grants-continue-as-new", one file per run): replayed with the rest, not full
# generations of every kind.
KINDS = sorted(f"{path.parent.name}/{path.stem}" for path in HISTORIES.glob("*/*.json"))
EXPECTED_KINDS = {"approve", "reject", "changes_resubmit", "conditions", "expiry", "withdraw", "partial", "in_flight"}


@pytest.fixture(autouse=True, scope="module")
def calendars_loaded():
    """As `build_worker` does: holiday calendars are built outside the sandbox."""
    calendar.preload(DEFAULT_CALENDARS)


def history(kind: str) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"proposal-replay-{kind.replace('/', '-')}",
                                     (HISTORIES / f"{kind}.json").read_text())


def replayer(workflow_class=ProposalWorkflow) -> Replayer:
    return Replayer(workflows=[workflow_class], workflow_runner=sandbox.runner())


def test_every_kind_of_run_is_recorded_in_every_generation():
    assert {f"{generation}/{kind}" for generation in GENERATIONS for kind in EXPECTED_KINDS} <= set(KINDS)
    continued = [kind for kind in KINDS if kind.startswith("continue_as_new/")]
    assert len(continued) >= 2 and history(continued[0]).events[-1].HasField(
        "workflow_execution_continued_as_new_event_attributes")


@pytest.mark.parametrize("kind", KINDS)
async def test_recorded_history_replays(kind):
    result = await replayer().replay_workflow(history(kind))
    assert result.replay_failure is None


async def test_all_histories_replay_in_one_worker():
    """As a worker would meet them: many runs through one cache."""
    async def every_history():
        for kind in KINDS:
            yield history(kind)

    results = await replayer().replay_workflows(every_history(), raise_on_replay_failure=False)
    assert dict(results.replay_failures) == {}


@pytest.mark.parametrize("generation", GENERATIONS)
async def test_an_extra_activity_breaks_replay(generation):
    with pytest.raises(NondeterminismError):
        await replayer(variants.AnnouncesEachStep).replay_workflow(history(f"{generation}/approve"))


@pytest.mark.parametrize("generation", GENERATIONS)
async def test_a_missing_timer_step_breaks_replay(generation):
    with pytest.raises(NondeterminismError):
        await replayer(variants.SkipsReminders).replay_workflow(history(f"{generation}/expiry"))


@pytest.mark.parametrize("kind", KINDS)
async def test_a_patched_change_replays_old_runs(kind):
    await replayer(variants.PatchedAnnouncement).replay_workflow(history(kind))
