"""`countersign up` as a user runs it: a subprocess with the embedded Temporal
dev server, stopped by SIGTERM and by Ctrl-C, and restarted on the same data
dir with proposals in flight."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from countersign.storage.accounts import authenticate, create_token
from countersign.storage.db import make_engine, transaction
from tests import factories
from tests.ports import free_port
from workflows.dev_server import UI_PORT_OFFSET, port_is_free

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
START_TIMEOUT = 60  # seconds; a loaded CI machine hashes passwords and starts Temporal slowly
STOP_TIMEOUT = 15


def countersign_command() -> list[str]:
    script = Path(sys.executable).parent / "countersign"
    return [str(script)] if script.exists() else [sys.executable, "-m", "api.cli"]


def free_temporal_port() -> int:
    """A free port whose neighbour 1000 up (the Web UI's) is free too."""
    for _ in range(100):
        port = free_port()
        if port + UI_PORT_OFFSET <= 65535 and port_is_free("127.0.0.1", port + UI_PORT_OFFSET):
            return port
    raise RuntimeError("no free pair of ports for Temporal and its Web UI")


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention `text` (the data dir) in
    their command line or environment (the worker process has it there)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (entry / "environ").read_bytes().decode(errors="replace")
            status = (entry / "status").read_text()
        except OSError:
            continue  # gone meanwhile
        if (text in cmdline or text in environ) and "(zombie)" not in status:
            found.append(cmdline)
    return found


def child_running(parent: int, text: str) -> int:
    """The pid of `parent`'s one live child whose command line mentions `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == parent and state != "Z" and text in cmdline:
            found.append(int(entry.name))
    assert len(found) == 1, found
    return found[0]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Countersign:
    """One installation in a temp dir, driven through its command line."""

    def __init__(self, tmp_path: Path) -> None:
        self.data_dir = tmp_path / "data"
        self.port = free_port()
        self.temporal_port = free_temporal_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {name: value for name, value in os.environ.items()
                    if not name.startswith(("COUNTERSIGN_", "TEMPORAL_"))}
        self.env.update(COUNTERSIGN_DATA_DIR=str(self.data_dir), COUNTERSIGN_POLICY=str(factories.ONE_STAGE),
                        PYTHONUNBUFFERED="1", **factories.CHEAP_PASSWORD_HASHING)
        self.cwd = tmp_path  # no stray .env
        self.runs: list[subprocess.Popen] = []
        self.logs = tmp_path

    @property
    def database(self) -> Path:
        return self.data_dir / "countersign.sqlite3"

    def seed(self, template: Path) -> None:
        """A migrated database (the session's template) in the data dir, as `migrate` would leave it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(template, self.database)

    def tokens(self, *emails: str) -> list[str]:
        """A new API token each, made in this process: a CLI start-up costs a loaded machine a second
        of CPU, and tests/test_cli.py covers `tokens create`."""
        engine = make_engine(f"sqlite:///{self.database}")
        try:
            with transaction(engine) as session:
                return [create_token(session, email, scopes=factories.token_scopes(session, email))
                        for email in emails]
        finally:
            engine.dispose()

    def cli(self, *args: str, input: str | None = None) -> subprocess.Popen:
        return subprocess.Popen([*countersign_command(), *args], cwd=self.cwd, env=self.env, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def run_all(self, *commands: tuple[tuple[str, ...], str | None]) -> list[str]:
        """Run CLI commands side by side; their stdouts, once all succeeded."""
        started = [(self.cli(*args), input) for args, input in commands]
        outputs = []
        for process, input in started:
            out, err = process.communicate(input, timeout=START_TIMEOUT)
            assert process.returncode == 0, f"{process.args}: {err}"
            outputs.append(out)
        return outputs

    def up(self, *extra: str) -> subprocess.Popen:
        number = len(self.runs) + 1
        with open(self.logs / f"up{number}.out", "w") as out, open(self.logs / f"up{number}.err", "w") as err:
            process = subprocess.Popen(
                [*countersign_command(), "up", "--data-dir", str(self.data_dir), "--port", str(self.port),
                 "--temporal-port", str(self.temporal_port), *extra],
                cwd=self.cwd, env=self.env, stdout=out, stderr=err,
                # Its own process group, as in a terminal, where Ctrl-C reaches the dev server too.
                start_new_session=True,
            )
        self.runs.append(process)
        return process

    def banner(self, process: subprocess.Popen) -> str:
        """What `up` printed by the time it said it is running."""
        path = self.logs / f"up{self.runs.index(process) + 1}.out"
        deadline = time.monotonic() + 10
        while "Countersign is running" not in path.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        return path.read_text()

    def wait_until_ready(self, process: subprocess.Popen) -> None:
        number = self.runs.index(process) + 1
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                errors = (self.logs / f"up{number}.err").read_text()
                pytest.fail(f"countersign up exited {process.returncode}:\n{errors}")
            try:
                if httpx.get(f"{self.url}/openapi.json", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"countersign up did not answer within {START_TIMEOUT}s")

    def stop(self, process: subprocess.Popen, sig: signal.Signals) -> float:
        """Signal it as a user would; how long it took to exit."""
        started = time.monotonic()
        if sig == signal.SIGINT:
            os.killpg(process.pid, sig)  # Ctrl-C in a terminal: the whole foreground group
        else:
            process.send_signal(sig)  # kill <pid>, or a service manager
        assert process.wait(STOP_TIMEOUT) == 0
        return time.monotonic() - started

    def kill_leftovers(self) -> None:
        for process in self.runs:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def countersign(tmp_path):
    installation = Countersign(tmp_path)
    yield installation
    installation.kill_leftovers()


def api(countersign: Countersign, token: str) -> httpx.Client:
    return httpx.Client(base_url=countersign.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def approve(client: httpx.Client, proposal_id: int) -> dict:
    response = client.post(f"/api/v1/proposals/{proposal_id}/decisions",
                           json={"decision": "approve", "comment": "ok"})
    assert response.status_code == 201, response.text
    return response.json()


def eventually_status(client: httpx.Client, proposal_id: int, status: str) -> dict:
    deadline = time.monotonic() + 20
    while True:
        proposal = client.get(f"/api/v1/proposals/{proposal_id}").json()
        if proposal["status"] == status or time.monotonic() > deadline:
            assert proposal["status"] == status, proposal
            return proposal
        time.sleep(0.2)


def demo_passwords(output: str) -> dict[str, str]:
    """e-mail -> password column of the demo accounts table `up --demo` prints."""
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split() == ["email", "role", "party", "password"])
    column = lines[header].index("password")
    rows = {}
    for line in lines[header + 2:]:
        if not line.strip():
            break
        rows[line.split()[0]] = line[column:].strip()
    return rows


def assert_all_gone(countersign: Countersign) -> None:
    assert processes_mentioning(str(countersign.data_dir)) == []
    assert not listening(countersign.temporal_port)
    assert not listening(countersign.temporal_port + UI_PORT_OFFSET)
    assert not listening(countersign.port)


def test_up_stops_cleanly_and_carries_proposals_across_a_restart(countersign):
    # The lead through `users add` (it migrates the fresh data dir), the reps and
    # the rest through `up --demo`; the lead's token and the first rep's through
    # `tokens create`, the other reps' in this process.
    lead_add = ("users", "add", "--email", "lead@example.com", "--role", "lead", "--password-stdin")
    countersign.run_all((lead_add, PASSWORD + "\n"))
    first = countersign.up("--demo")
    countersign.wait_until_ready(first)
    first_rep, *other_reps = factories.PARTIES
    outputs = countersign.run_all((("tokens", "create", "--email", "lead@example.com"), None),
                                  (("tokens", "create", "--email", f"rep.{first_rep}@example.com",
                                    "--scope", "decide"), None))
    for out in outputs:
        assert len(out.splitlines()) == 1, out
    tokens = dict(zip(["lead", first_rep], (out.strip() for out in outputs)))
    tokens |= zip(other_reps, countersign.tokens(*(f"rep.{party}@example.com" for party in other_reps)))
    lead = api(countersign, tokens["lead"])
    reps = {party: api(countersign, tokens[party]) for party in factories.PARTIES}

    banner = countersign.banner(first)
    assert countersign.url in banner
    assert f"127.0.0.1:{countersign.temporal_port}" in banner
    assert f"http://127.0.0.1:{countersign.temporal_port + UI_PORT_OFFSET}" in banner
    assert str(countersign.data_dir) in banner
    passwords = demo_passwords(banner)
    assert passwords["lead@example.com"] == "(exists; password unchanged)"  # made with `users add`
    assert len(passwords["rep.sony@example.com"]) >= 10

    submitted = lead.post("/api/v1/proposals", json=factories.submission())
    assert submitted.status_code == 201, submitted.text
    done_id = submitted.json()["id"]
    for party in factories.PARTIES:
        approve(reps[party], done_id)
    eventually_status(lead, done_id, "approved")

    submitted = lead.post("/api/v1/proposals", json=factories.submission(title="Generative playlists"))
    assert submitted.status_code == 201, submitted.text
    open_id = submitted.json()["id"]
    for party in factories.PARTIES[:2]:
        approve(reps[party], open_id)

    took = countersign.stop(first, signal.SIGTERM)
    assert took < 10
    assert_all_gone(countersign)

    # The same data dir again: what was decided is there, and the open proposal goes on.
    second = countersign.up("--demo")
    countersign.wait_until_ready(second)
    assert demo_passwords(countersign.banner(second)) == passwords  # kept, not reset
    engine = make_engine(f"sqlite:///{countersign.database}")
    with Session(engine) as session:
        assert authenticate(session, "rep.sony@example.com", passwords["rep.sony@example.com"])
        assert authenticate(session, "lead@example.com", PASSWORD)
    engine.dispose()

    done = lead.get(f"/api/v1/proposals/{done_id}").json()
    assert done["status"] == "approved"
    assert {party: state["decided_by"] for party, state in done["parties"].items()} == {
        party: f"rep.{party}@example.com" for party in factories.PARTIES
    }
    still_open = lead.get(f"/api/v1/proposals/{open_id}").json()
    assert still_open["status"] == "in_review"
    assert {party: state["state"] for party, state in still_open["parties"].items()} == {
        party: "approved" if party in factories.PARTIES[:2] else "pending" for party in factories.PARTIES
    }
    for party in factories.PARTIES[2:]:
        approve(reps[party], open_id)
    final = eventually_status(lead, open_id, "approved")
    assert all(state["state"] == "approved" for state in final["parties"].values())

    for client in [lead, *reps.values()]:
        client.close()
    took = countersign.stop(second, signal.SIGINT)
    assert took < 10
    assert_all_gone(countersign)


def test_a_killed_up_takes_its_worker_and_its_temporal_server_along(countersign):
    """If `up` itself is killed (kill -9, no chance to stop anything), its
    worker process stops within seconds instead of polling Temporal
    unsupervised, and its Temporal dev server is gone with it, its ports free:
    the next `up` on the same data dir and ports starts."""
    process = countersign.up()
    temporal = None
    try:
        countersign.wait_until_ready(process)
        assert child_running(process.pid, "api.cli worker")
        temporal = child_running(process.pid, "start-dev")
        assert str(countersign.data_dir) in Path(f"/proc/{temporal}/cmdline").read_text()
        assert listening(countersign.temporal_port)
        assert listening(countersign.temporal_port + UI_PORT_OFFSET)

        process.kill()
        process.wait()
        ports = (countersign.temporal_port, countersign.temporal_port + UI_PORT_OFFSET)

        def gone() -> bool:
            # Both: a dying process loses its command line before its sockets close.
            return (processes_mentioning(str(countersign.data_dir)) == []
                    and all(port_is_free("127.0.0.1", port) for port in ports))

        deadline = time.monotonic() + 10
        while not gone() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert processes_mentioning(str(countersign.data_dir)) == []  # worker and Temporal both
        assert [port for port in ports if not port_is_free("127.0.0.1", port)] == []

        again = countersign.up()
        countersign.wait_until_ready(again)
        assert countersign.stop(again, signal.SIGTERM) < 10
        assert_all_gone(countersign)
    finally:
        if temporal is not None:  # only if the test failed: the server we saw, by its pid
            with contextlib.suppress(ProcessLookupError):
                os.kill(temporal, signal.SIGKILL)
