"""The workflow sandbox checks our workflow modules, and as the SDK ships it meets no CPython gh-106905.

Before 3.11.8, two threads building `ast` objects at once can fail with
"SystemError: AST constructor recursion depth mismatch". The sandbox
compiles source strings, which builds no `ast` objects. `Parsing` provokes
the bug where it exists (shown by the first test), and the sandbox runs
workflows beside it without a single failure.
"""

from __future__ import annotations

import ast
import asyncio
import sys
import threading
import time
import uuid
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.worker import Worker

from tests import factories
from tests.workflows.clock_probe import ReadsTheClock
from tests.workflows.tally import UPDATES, Tally
from workflows import sandbox
from workflows.worker import build_worker

HAS_THE_BUG = sys.version_info < (3, 11, 8)  # fixed in 3.11.8 (CPython PR #113476)
SOURCE = Path(ast.__file__).read_text()  # a long module: each parse builds many nodes


class Parsing:
    """Threads that make the bug likely where it exists: one parses SOURCE
    over and over, one makes garbage whose finalizer runs Python code (so a
    collection in the middle of a parse can hand the GIL to another thread),
    with the shortest switch interval. `errors`: what the parsing thread met."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._parse), threading.Thread(target=self._litter)]

    def _parse(self) -> None:
        while not self._stop.is_set():
            try:
                ast.parse(SOURCE)
            except SystemError as error:
                self.errors.append(str(error))

    def _litter(self) -> None:
        while not self._stop.is_set():
            for _ in range(100):
                garbage = _Finalized()
                garbage.cycle = garbage
            time.sleep(0)

    def __enter__(self) -> Parsing:
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        sys.setswitchinterval(self._interval)


class _Finalized:
    def __del__(self) -> None:
        sum(range(50))


def test_two_threads_parsing_at_once_meet_the_bug_exactly_before_3_11_8():
    errors = []
    with Parsing() as other:
        deadline = time.monotonic() + (20 if HAS_THE_BUG else 2)
        while time.monotonic() < deadline and not (errors or other.errors):
            try:
                ast.parse(SOURCE)
            except SystemError as error:
                errors.append(str(error))
    found = errors + other.errors
    assert bool(found) == HAS_THE_BUG, found
    assert all("AST constructor recursion depth mismatch" in error for error in found)


def test_compiling_source_beside_a_parsing_thread_never_fails():
    with Parsing() as other:
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:
            compile(SOURCE, "<source>", "exec")  # what the sandbox and Jinja2 do
    assert other.errors == []


async def test_workflows_run_in_the_sandbox_beside_a_parsing_thread(temporal_env, task_queue):
    client = temporal_env.client
    ids = [f"tally-{uuid.uuid4().hex[:8]}" for _ in range(10)]

    async def run_one(workflow_id: str) -> list[int]:
        handle = await client.start_workflow(Tally.run, id=workflow_id, task_queue=task_queue)
        return [await handle.execute_update(Tally.add) for _ in range(UPDATES)]

    with Parsing() as other:
        async with Worker(client, task_queue=task_queue, workflows=[Tally], workflow_runner=sandbox.runner()):
            # A failed workflow task is retried: one failing every time would hang without a deadline.
            counts = await asyncio.wait_for(asyncio.gather(*map(run_one, ids)), 60)
            # One at a time: the time-skipping server miscounts concurrent waits for results.
            results = [await client.get_workflow_handle(workflow_id).result() for workflow_id in ids]
    assert counts == [list(range(1, UPDATES + 1))] * len(ids)
    assert results == [UPDATES] * len(ids)
    assert other.errors == []
    for workflow_id in ids:  # a task that failed and was retried leaves its failure in the history
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in {event.event_type for event in history.events}


def passed_through(module: str, passthrough: set[str]) -> bool:
    """Whether the sandbox shares `module` with the host: it or a package it is in is passed through."""
    parts = module.split(".")
    return any(".".join(parts[:n]) in passthrough for n in range(1, len(parts) + 1))


async def test_the_sandbox_imports_every_workflow_module_anew(engine, temporal_env, task_queue):
    """Passed through, a workflow's module would run unchecked: a call to the clock in it would go by."""
    worker = build_worker(temporal_env.client, engine, task_queue, factories.policy())
    passthrough = sandbox.runner().restrictions.passthrough_modules
    modules = {workflow.__module__ for workflow in worker.config()["workflows"]}
    assert "workflows.proposal" in modules
    assert [module for module in modules if passed_through(module, passthrough)] == []
    assert passed_through("countersign.domain.routing", passthrough)  # the pure core is shared


async def test_the_sandbox_refuses_a_workflow_that_reads_the_clock(temporal_env, task_queue):
    client = temporal_env.client
    async with Worker(client, task_queue=task_queue, workflows=[ReadsTheClock], workflow_runner=sandbox.runner()):
        handle = await client.start_workflow(ReadsTheClock.run, id=f"clock-{uuid.uuid4().hex[:8]}",
                                             task_queue=task_queue)
        failure = await asyncio.wait_for(first_task_failure(handle), 30)
    assert "Cannot access datetime.datetime.now" in failure


async def first_task_failure(handle) -> str:
    """The message of the run's first failed workflow task (it is retried, never completed)."""
    while True:
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                return event.workflow_task_failed_event_attributes.failure.message
        await asyncio.sleep(0.1)
