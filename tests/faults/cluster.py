"""Countersign as production runs it, on one machine: the Temporal dev server
(SQLite file), `countersign worker` and `countersign web`, each a process of
its own that a test can kill with SIGKILL and start again on the same files
and ports; the app database on SQLite or on a fresh PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from temporalio.client import Client

from countersign.domain.policy import load_policy
from countersign.storage.accounts import create_token, create_user
from countersign.storage.db import make_engine, transaction
from tests import factories
from tests.ports import free_port
from tests.postgres import admin_engine
from workflows import dev_server, search_attributes

POLICY = Path(__file__).parents[1] / "policies" / "faults.toml"
PARTIES = tuple(load_policy(POLICY).parties)
PASSWORD = "fault tests, not a secret"
LEAD = "lead@example.com"
REPS = {party: f"rep.{party}@example.com" for party in PARTIES}
START_TIMEOUT = 60  # seconds; a loaded 2-core CI machine starts Python and Temporal slowly
CLI_TIMEOUT = 60


def countersign_command() -> list[str]:
    return [str(Path(sys.executable).parent / "countersign")]


class Cluster:
    """The three processes and the CLI, sharing one environment."""

    def __init__(self, directory: Path, database_url: str | None = None,
                 postgres_database: str | None = None, template: Path | None = None) -> None:
        self.dir = directory
        self.template = template  # a migrated SQLite database to start from, instead of `migrate`
        self.postgres_database = postgres_database  # the database's name, when on PostgreSQL
        self.web_port = free_port()
        self.temporal_port = free_port()
        self.temporal_address = f"127.0.0.1:{self.temporal_port}"
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.temporal_db = directory / "temporal.sqlite3"
        self.database_url = database_url or f"sqlite:///{directory / 'countersign.sqlite3'}"
        self.env = {name: value for name, value in os.environ.items()
                    if not name.startswith(("COUNTERSIGN_", "TEMPORAL_"))}
        self.env.update(
            COUNTERSIGN_DATA_DIR=str(directory / "data"),
            COUNTERSIGN_DATABASE_URL=self.database_url,
            COUNTERSIGN_POLICY=str(POLICY),
            COUNTERSIGN_TASK_QUEUE=f"faults-{uuid.uuid4().hex[:8]}",
            COUNTERSIGN_SECRET_KEY="fault-tests-" + uuid.uuid4().hex,
            COUNTERSIGN_BASE_URL=self.url,
            TEMPORAL_ADDRESS=self.temporal_address,
            PYTHONUNBUFFERED="1",
            **factories.CHEAP_PASSWORD_HASHING,
        )
        self.processes: dict[str, subprocess.Popen] = {}
        self.logs: list[Path] = []
        self.starts: dict[str, int] = {}

    # -- processes ---------------------------------------------------------

    def _command(self, name: str) -> list[str]:
        if name == "temporal":  # as workflows/dev_server.py starts it (see start_all), without the Web UI
            command = [str(dev_server.temporal_binary()), "server", "start-dev", "--ip", "127.0.0.1",
                       "--port", str(self.temporal_port), "--db-filename", str(self.temporal_db),
                       "--namespace", "default", "--headless", "--log-level", "error"]
            for pragma in dev_server.SQLITE_PRAGMAS:
                command += ["--sqlite-pragma", pragma]
            for key in search_attributes.ALL:
                command += ["--search-attribute", dev_server.search_attribute_option(key)]
            return command
        if name == "worker":
            return [*countersign_command(), "worker"]
        if name == "web":
            return [*countersign_command(), "web", "--host", "127.0.0.1", "--port", str(self.web_port)]
        raise ValueError(name)

    def start(self, name: str) -> subprocess.Popen:
        assert name not in self.processes or self.processes[name].poll() is not None, f"{name} is running"
        self.starts[name] = self.starts.get(name, 0) + 1
        log = self.dir / f"{name}-{self.starts[name]}.log"
        self.logs.append(log)
        with log.open("w") as out:
            # A session of its own: a signal for it reaches nothing else.
            process = subprocess.Popen(self._command(name), cwd=self.dir, env=self.env, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[name] = process
        return process

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL, timeout: float = 30) -> None:
        """Signal the process and wait for it to end (SIGKILL if it outstays `timeout`)."""
        process = self.processes[name]
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(f"{name} did not stop within {timeout}s of {sig.name}")

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()

    def check_running(self, *names: str) -> None:
        for name in names:
            code = self.processes[name].poll()
            assert code is None, f"the {name} exited on its own with {code}:\n{self.tail(name)}"

    def tail(self, name: str, lines: int = 40) -> str:
        logs = [log for log in self.logs if log.name.startswith(f"{name}-")]
        return "\n".join(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
                         for log in logs)

    def all_logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-6000:]}" for log in self.logs)

    async def temporal_client(self) -> Client:
        """A client of the dev server, once it answers (after a start or a restart)."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            self.check_running("temporal")
            try:
                client = await Client.connect(self.temporal_address)
                await client.count_workflows()  # the frontend and visibility answer
                return client
            except Exception:  # noqa: BLE001  (not up yet: any error is the same)
                if time.monotonic() > deadline:
                    raise AssertionError(f"Temporal did not answer within {START_TIMEOUT}s:\n{self.tail('temporal')}")
                await asyncio.sleep(0.2)

    async def web_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as http:
            while True:
                self.check_running("web")
                try:
                    if (await http.get("/api/v1/proposals")).status_code == 401:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"the web app did not answer within {START_TIMEOUT}s:\n{self.tail('web')}")
                await asyncio.sleep(0.1)

    async def worker_ready(self) -> None:
        """The worker has connected and is about to poll (it logs its task queue)."""
        deadline = time.monotonic() + START_TIMEOUT
        log = self.dir / f"worker-{self.starts['worker']}.log"
        while "worker on task queue" not in log.read_text(errors="replace"):
            self.check_running("worker")
            if time.monotonic() > deadline:
                raise AssertionError(f"the worker did not connect within {START_TIMEOUT}s:\n{self.tail('worker')}")
            await asyncio.sleep(0.1)

    # -- the command line --------------------------------------------------

    async def cli(self, *args: str, stdin: str | None = None, check: bool = True) -> tuple[int, str, str]:
        """Run `countersign ARGS` with the cluster's settings: (exit code, stdout, stderr)."""
        process = await asyncio.create_subprocess_exec(
            *countersign_command(), *args, cwd=self.dir, env=self.env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(stdin.encode() if stdin else None), CLI_TIMEOUT)
        output = out.decode() + err.decode()
        if check:
            assert process.returncode == 0, f"countersign {' '.join(args)} exited {process.returncode}:\n{output}"
        return process.returncode, out.decode(), err.decode()

    def add_accounts(self) -> dict[str, str]:
        """The lead and one rep per label, each with a new API token: the
        tokens by who ("lead" or a party key). Through the functions the
        CLI's `users add` and `tokens create` call, in this process: thirteen
        CLI start-ups would cost a loaded 2-core machine half a minute."""
        engine = make_engine(self.database_url)
        tokens = {}
        try:
            for who, email, role, party in [("lead", LEAD, "lead", None),
                                            *((p, e, "rep", p) for p, e in REPS.items())]:
                with transaction(engine) as session:
                    create_user(session, email, role, PASSWORD, party=party, parties=PARTIES)
                with transaction(engine) as session:
                    tokens[who] = create_token(session, email, scopes=factories.token_scopes(session, email))
        finally:
            engine.dispose()
        return tokens

    async def start_all(self) -> dict[str, str]:
        """Temporal, the schema, the accounts (lead and one rep per label), the
        worker and the web app; the API tokens by who: "lead" or a party key."""
        self.start("temporal")
        if self.template is not None:  # a copy saves the CLI's start-up; tests/test_cli.py runs `migrate`
            shutil.copy(self.template, self.database_url.removeprefix("sqlite:///"))
            await self.temporal_client()
        else:
            await asyncio.gather(self.cli("migrate"), self.temporal_client())
        self.start("worker")
        self.start("web")
        tokens, *_ = await asyncio.gather(asyncio.to_thread(self.add_accounts), self.worker_ready(),
                                          self.web_ready())
        return tokens


# -- PostgreSQL ----------------------------------------------------------------


def cut_postgres(name: str, seconds: float) -> int:
    """The database gone for `seconds`: new connections refused, and every
    connection of the app's terminated, again and again, so that reconnects
    die too. How many connections were terminated."""
    admin = admin_engine()
    terminated = 0
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
            try:
                until = time.monotonic() + seconds
                while time.monotonic() < until:
                    rows = conn.exec_driver_sql(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()").all()
                    terminated += sum(1 for (done,) in rows if done)
                    time.sleep(0.05)
            finally:
                conn.exec_driver_sql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
    finally:
        admin.dispose()
    return terminated


def hold_sqlite_lock(path: str, seconds: float) -> None:
    """Hold SQLite's exclusive lock on the database for `seconds`: no other
    connection can read or write it meanwhile (readers of a WAL database
    still can)."""
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        time.sleep(seconds)
        connection.execute("ROLLBACK")
    finally:
        connection.close()
