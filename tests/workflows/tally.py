"""A small workflow for tests/workflows/test_sandbox.py: it counts Updates
and ends at the fifth. A module of its own, as the sandbox re-imports a
workflow's module (and pytest rewrites only test modules)."""

from __future__ import annotations

from temporalio import workflow

UPDATES = 5


@workflow.defn
class Tally:
    def __init__(self) -> None:
        self.count = 0

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.count >= UPDATES)
        return self.count

    @workflow.update
    def add(self) -> int:
        self.count += 1
        return self.count
