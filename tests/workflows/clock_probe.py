"""A workflow that reads the machine's clock, which no workflow may: for
tests/workflows/test_sandbox.py. A module of its own, as the sandbox re-imports a
workflow's module."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow


@workflow.defn
class ReadsTheClock:
    @workflow.run
    async def run(self) -> str:
        return datetime.now().isoformat()  # not workflow.now(): the sandbox must refuse it
