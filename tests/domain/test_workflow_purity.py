"""The domain code the workflows run is deterministic.

The sandbox shares `countersign` with the host (workflows/sandbox.py), so it does not check
that code as it checks the workflow modules: this test does. Every domain module a workflow
reaches, through its imports, may not read the clock, randomness, the environment or files.
"""

from __future__ import annotations

import ast
from pathlib import Path

import countersign

SRC = Path(countersign.__file__).parent
WORKFLOWS = Path(__file__).parents[2] / "workflows"
# Calls that give a different answer on replay: `workflow.now()` and the review's own times serve instead.
FORBIDDEN_CALLS = {"now", "utcnow", "today", "uuid1", "uuid4", "urandom", "getenv", "open"}
FORBIDDEN_MODULES = {"time", "random", "secrets", "os", "socket", "subprocess", "countersign.storage", "sqlalchemy",
                     "httpx"}


def imported_modules(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def domain_file(module: str) -> Path | None:
    if not module.startswith("countersign.domain."):
        return None
    path = SRC.joinpath(*module.split(".")[1:]).with_suffix(".py")
    return path if path.exists() else None


def reached_from_workflows() -> dict[str, ast.Module]:
    """Every domain module the workflow modules import, and those they import, parsed."""
    pending = [m for path in WORKFLOWS.glob("*.py") for m in imported_modules(ast.parse(path.read_text()))]
    reached: dict[str, ast.Module] = {}
    while pending:
        module = pending.pop()
        path = domain_file(module)
        if path is None or module in reached:
            continue
        reached[module] = tree = ast.parse(path.read_text())
        pending += imported_modules(tree)
    return reached


def nondeterministic(tree: ast.Module) -> list[str]:
    found = [f"{node.lineno}: {ast.unparse(node.func)}()" for node in ast.walk(tree)
             if isinstance(node, ast.Call) and (getattr(node.func, "attr", None) or getattr(node.func, "id", None))
             in FORBIDDEN_CALLS]
    found += [f"imports {name}" for name in imported_modules(tree)
              if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN_MODULES)]
    return found


def test_the_workflows_reach_the_routing_core():
    reached = reached_from_workflows()
    assert {"countersign.domain.routing", "countersign.domain.policy", "countersign.domain.calendar",
            "countersign.domain.grants"} <= set(reached)


def test_no_domain_module_a_workflow_reaches_reads_the_clock_or_randomness():
    offences = {module: found for module, tree in reached_from_workflows().items() if (found := nondeterministic(tree))}
    assert offences == {}


def test_the_check_finds_a_clock_read():
    assert nondeterministic(ast.parse("from datetime import datetime\nx = datetime.now()")) == ["2: datetime.now()"]
    assert nondeterministic(ast.parse("import secrets")) == ["imports secrets"]
    assert nondeterministic(ast.parse("from datetime import time\nx = time(9)")) == []  # a time of day
