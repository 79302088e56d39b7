"""The workflow sandbox: the SDK's, with our deterministic core passed through.

The workflow modules themselves (`workflows.proposal`, `workflows.checkpoint`, ...) are not
passed through: the sandbox imports them anew for each run and refuses a non-deterministic
call in their code (the clock, randomness, I/O), as it would in anyone's workflow. What they
share with the host, they import in `workflow.unsafe.imports_passed_through()` blocks.
tests/workflows/test_sandbox.py holds both to it.

CPython before 3.11.8 fails now and then with "SystemError: AST constructor
recursion depth mismatch" when two threads build `ast` objects at once
(`ast.parse`, or compiling an `ast` tree; CPython gh-106905). The sandbox
runs each activation by compiling a source string, which builds no `ast`
objects, so it is used as the SDK ships it; tests/workflows/test_sandbox.py
shows it under a thread that parses all the while.
"""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

# Deterministic modules the workflows share with the host instead of re-importing them into
# every sandboxed run: our pure core (`countersign`: its domain decides, its storage is only
# imported for the activities' types) and the libraries it uses for dates, holidays, data
# classes and tables. Not `workflows`: that is the code the sandbox is there to check.
PASSTHROUGH = ("countersign", "holidays", "dateutil", "pydantic", "sqlmodel", "sqlalchemy")


def runner() -> SandboxedWorkflowRunner:
    restrictions = SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    return SandboxedWorkflowRunner(restrictions=restrictions)
