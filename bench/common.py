"""Helpers shared by the benchmarks: ports, fresh databases, memory, CPU, Temporal's work, statistics."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sysconfig
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import sqlalchemy

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sysconfig.get_path("scripts"))
ONE_STAGE_POLICY = ROOT / "tests" / "policies" / "one_stage.toml"
POSTGRES_URL = os.environ.get("COUNTERSIGN_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def free_port(below: int = 65536, also_free: tuple[int, ...] = ()) -> int:
    """A port free now, lower than `below`, with port + each of `also_free` free too
    (the embedded Temporal server's Web UI takes its port + 1000)."""
    for _ in range(1000):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port < below and all(_is_free(port + offset) for offset in also_free):
            return port
    raise RuntimeError("no free port found")


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@contextlib.contextmanager
def fresh_postgres(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the local server, dropped afterwards."""
    admin = sqlalchemy.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"),
                                     isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def rss_mib(pid: int) -> float:
    """Resident memory of a process, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 1,000 values is the 990th smallest)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil
    return ordered[int(rank) - 1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, from /proc/<pid>/stat."""
    return _stat_cpu_seconds(Path(f"/proc/{pid}/stat").read_text())


def _stat_cpu_seconds(stat: str) -> float:
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """Direct child processes, from /proc/<pid>/task/*/children."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def postgres_cpu_seconds() -> float:
    """CPU time used so far by the local PostgreSQL server's processes (its
    backends serve the app's connections; they share the machine's cores)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            text = stat.read_text()
            if "(postgres)" in text:
                total += _stat_cpu_seconds(text)
    return total


class CpuMeter:
    """CPU used by named processes between `start()` and `stop()`, as a share
    of one core. A process is a pid, or a function giving CPU seconds so far."""

    def __init__(self, processes: dict[str, int | Callable[[], float]]) -> None:
        self.processes = processes
        self._before: dict[str, float] = {}
        self._started = 0.0
        self.shares: dict[str, float] = {}

    def start(self) -> None:
        self._started = time.perf_counter()
        self._before = {name: _seconds(process) for name, process in self.processes.items()}

    def stop(self) -> dict[str, float]:
        elapsed = time.perf_counter() - self._started
        self.shares = {name: (_seconds(process) - self._before[name]) / elapsed
                       for name, process in self.processes.items()}
        return self.shares


class TemporalRequests:
    """The Temporal server's database requests by operation (its `persistence_requests` metric), read
    from the Prometheus page the dev server prints at start ("Temporal Metrics: <url>"). What a
    decision costs the engine in work it must do, steadier than CPU time on a noisy machine."""

    def __init__(self, url: str) -> None:
        self.url = url

    @classmethod
    def from_log(cls, log: str) -> TemporalRequests | None:
        found = re.search(r"Temporal Metrics:\s+(http://\S+/metrics)", log)
        return cls(found.group(1)) if found else None

    def read(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for line in httpx.get(self.url, timeout=30).text.splitlines():
            if line.startswith("persistence_requests{"):
                labels, value = line.rsplit(" ", 1)
                counts[re.search(r'operation="([^"]*)"', labels).group(1)] += float(value)
        return counts


def _seconds(process: int | Callable[[], float]) -> float:
    return process() if callable(process) else cpu_seconds(process)
