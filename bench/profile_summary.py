"""Where the time goes, from a py-spy profile in its raw (collapsed stacks) format.

    .venv/bin/python -m bench.profile_summary FILE [--top 25]

Idle threads (a thread pool's workers waiting for work, the event loop in
`select`) are left out. Of the samples that remain, prints the share per
process, per area of the service (web requests, the Temporal worker's
workflow activations, activities, ...), per package of the innermost frame
(self time) and per function anywhere on the stack (inclusive time).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
OURS = ("countersign", "workflows", "api", "bench")

# A stack whose innermost frame is one of these is a thread waiting, not working.
IDLE_LEAVES = {
    ("_worker", "concurrent/futures/thread.py"),  # an executor thread in SimpleQueue.get
    ("Condition.wait", "threading.py"),  # e.g. anyio's worker threads in Queue.get
    ("EpollSelector.select", "selectors.py"),  # the event loop with nothing to do
}

# The first rule whose text appears in a stack names its area.
AREAS = (
    ("activity record_step (executor thread: one DB transaction per step)", ("record_step (",)),
    ("web: sync code in anyio threads (auth, DB reads, serialising)", ("WorkerThread.run (",)),
    ("worker: workflow activations (sandbox)", ("_WorkflowWorker._handle_activation", "_workflow_instance.py",
                                                "workflow_sandbox")),
    ("web: request handling on the event loop (FastAPI, Temporal client calls)", ("RequestResponseCycle.run_asgi",)),
    ("worker: polling and completing tasks (bridge to Temporal core)", ("temporalio/worker/", "temporalio/bridge/")),
    ("mail dispatcher", ("mail_dispatcher",)),
    ("event loop, other", ("",)),
)


def parse(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stacks.append((frames.split(";"), int(count)))
    return stacks


def package(frame: str) -> str:
    """The package a frame's file belongs to: `sqlalchemy`, `temporalio.worker.workflow_sandbox`, ours, ..."""
    match = _FRAME.match(frame)
    if not match:
        return frame
    file = match.group("file").replace("\\", "/")
    if "site-packages/" in file:
        parts = file.split("site-packages/", 1)[1].split("/")
        if parts[0] == "temporalio" and len(parts) > 2:
            return ".".join(parts[:3] if parts[1] == "worker" and parts[2] == "workflow_sandbox" else parts[:2])
        return parts[0].removesuffix(".py")
    for ours in OURS:
        if f"/{ours}/" in file or file.startswith(f"{ours}/"):
            return f"{ours} (ours)"
    if "/lib/python3" in file or file.startswith("<frozen"):
        return "stdlib: " + file.rsplit("/", 1)[-1].removesuffix(".py").removeprefix("<frozen ").rstrip(">")
    return file


def function(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    file = match.group("file").replace("\\", "/")
    short = file.split("site-packages/", 1)[-1] if "site-packages/" in file else "/".join(file.split("/")[-2:])
    return f"{match.group('function')} ({short})"


def idle(code: list[str]) -> bool:
    match = _FRAME.match(code[-1]) if code else None
    return not match or (match.group("function"), match.group("file")) in IDLE_LEAVES


def area(code: list[str]) -> str:
    stack = ";".join(code)
    return next(name for name, marks in AREAS if any(mark in stack for mark in marks))


def summarise(stacks: list[tuple[list[str], int]]) -> tuple[int, int, dict[str, Counter]]:
    everything = sum(count for _, count in stacks)
    tables = {name: Counter() for name in ("process", "area", "package", "function")}
    active = 0
    for frames, count in stacks:
        code = [f for f in frames if not f.startswith(("process ", "thread "))]
        if idle(code):
            continue
        active += count
        root = frames[0] if frames[0].startswith("process ") else "(one process)"
        tables["process"][root[:100]] += count
        tables["area"][area(code)] += count
        tables["package"][package(code[-1])] += count
        for name in {function(f) for f in code}:
            tables["function"][name] += count
    return everything, active, tables


def print_summary(path: Path, top: int = 25) -> None:
    everything, total, tables = summarise(parse(path))
    processes, areas, packages, inclusive = (tables[k] for k in ("process", "area", "package", "function"))
    if not total:
        print(f"{path}: no active samples")
        return
    print(f"profile {path}: {total} active samples of {everything} (the rest: idle threads waiting)")
    print("\nby process:")
    for name, count in processes.most_common(top):
        print(f"  {100 * count / total:5.1f}%  {name}")
    print("\nby area:")
    for name, count in areas.most_common():
        print(f"  {100 * count / total:5.1f}%  {name}")
    print("\nself time by package (innermost frame):")
    for name, count in packages.most_common(top):
        print(f"  {100 * count / total:5.1f}%  {name}")
    print("\ninclusive time by function:")
    for name, count in inclusive.most_common(top):
        print(f"  {100 * count / total:5.1f}%  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print_summary(args.file, args.top)


if __name__ == "__main__":
    main()
