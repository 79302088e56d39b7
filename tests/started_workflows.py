"""Every workflow a test starts through the session's time-skipping client, so the
test's teardown can end them all (tests/conftest.py, `_end_leftover_workflows`)."""

from __future__ import annotations

from typing import Any

from temporalio.client import Interceptor, OutboundInterceptor, StartWorkflowInput


class StartedWorkflows(Interceptor):
    """A client interceptor (temporalio's public interface) noting each workflow id started or
    signal-started through the client, until `take` hands them over."""

    def __init__(self) -> None:
        self._ids: set[str] = set()

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Noting(next, self._ids)

    def take(self) -> set[str]:
        ids, self._ids = self._ids, set()
        return ids


class _Noting(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, ids: set[str]) -> None:
        super().__init__(next)
        self._noted = ids

    async def start_workflow(self, input: StartWorkflowInput) -> Any:
        self._noted.add(input.id)
        return await super().start_workflow(input)
