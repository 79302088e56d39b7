"""The workflow sandbox, with two adjustments of ours.

The SDK's sandbox runs every workflow activation by `exec`-ing one of three
fixed source strings, so it compiles Python source on every activation. On
CPython 3.11.7 compiling in two threads at once can fail with "SystemError:
AST constructor recursion depth mismatch" (CPython gh-106905), and the web
app compiles too (Jinja2 templates); compiling each string once also takes
the compiler off the worker's hot path. `install_compile_cache` shadows
`exec` in the SDK's runner module with a version that compiles each distinct
source string once. The strings are constants of the pinned SDK version.
"""

from __future__ import annotations

import builtins
from functools import lru_cache

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions, _runner

# Deterministic modules the workflow may share with the host instead of
# re-importing them into every sandboxed run: our own core (pure code) and
# the libraries it uses for dates, holidays and data classes.
PASSTHROUGH = ("countersign", "workflows", "holidays", "dateutil", "pydantic", "sqlmodel", "sqlalchemy")


@lru_cache(maxsize=32)
def _compiled(source: str):
    return builtins.compile(source, "<workflow sandbox>", "exec")


def _exec_compiled(source, globals=None, locals=None, /):
    code = _compiled(source) if isinstance(source, str) else source
    return builtins.exec(code, globals, locals)


def install_compile_cache() -> None:
    _runner.exec = _exec_compiled


def runner() -> SandboxedWorkflowRunner:
    install_compile_cache()
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH))
