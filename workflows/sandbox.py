"""The workflow sandbox: the SDK's, with our deterministic modules passed through.

CPython before 3.11.8 fails now and then with "SystemError: AST constructor
recursion depth mismatch" when two threads build `ast` objects at once
(`ast.parse`, or compiling an `ast` tree; CPython gh-106905). The sandbox
runs each activation by compiling a source string, which builds no `ast`
objects, so it is used as the SDK ships it; tests/workflows/test_sandbox.py
shows it under a thread that parses all the while.
"""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

# Deterministic modules the workflow may share with the host instead of
# re-importing them into every sandboxed run: our own core (pure code) and
# the libraries it uses for dates, holidays and data classes.
PASSTHROUGH = ("countersign", "workflows", "holidays", "dateutil", "pydantic", "sqlmodel", "sqlalchemy")


def runner() -> SandboxedWorkflowRunner:
    restrictions = SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    return SandboxedWorkflowRunner(restrictions=restrictions)
