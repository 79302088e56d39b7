"""`countersign up` brings back a part that dies: the worker process and the
embedded Temporal server are started again (with back-off), the web app
stays up meanwhile, /readyz says what is down, and a decision retried with
its decision_id after the restart counts once."""

from __future__ import annotations

import os
import signal
import time
import uuid

import httpx
import pytest

from countersign.storage.db import make_engine
from tests import factories
from tests.e2e.test_up import Countersign, child_running

pytestmark = pytest.mark.e2e


@pytest.fixture
def countersign(tmp_path):
    installation = Countersign(tmp_path)
    yield installation
    installation.kill_leftovers()


def ready(web: httpx.Client, want: int, within: float = 30) -> dict:
    deadline = time.monotonic() + within
    while True:
        answer = web.get("/readyz")
        if answer.status_code == want or time.monotonic() > deadline:
            assert answer.status_code == want, answer.text
            return answer.json()
        time.sleep(0.1)


def test_a_killed_worker_and_temporal_server_come_back(countersign, sqlite_template):
    # The accounts and tokens in this process, on a copy of the migrated template: no CLI start-ups.
    countersign.seed(sqlite_template)
    engine = make_engine(f"sqlite:///{countersign.database}")
    factories.user(engine, "lead")
    factories.user(engine, "rep", "sony")
    engine.dispose()
    lead_token, rep_token = countersign.tokens("lead@example.com", "rep.sony@example.com")
    process = countersign.up()
    countersign.wait_until_ready(process)
    web = httpx.Client(base_url=countersign.url, timeout=30)
    lead = httpx.Client(base_url=countersign.url, timeout=30, headers={"Authorization": f"Bearer {lead_token}"})
    rep = httpx.Client(base_url=countersign.url, timeout=30, headers={"Authorization": f"Bearer {rep_token}"})
    try:
        ready(web, 200)
        proposal = lead.post("/api/v1/proposals", json=factories.submission()).json()

        os.kill(child_running(process.pid, "api.cli worker"), signal.SIGKILL)
        down = ready(web, 503, within=5)
        assert not down["checks"]["worker"]["ok"]
        assert web.get("/healthz").status_code == 200  # the web app stays up
        refused = rep.post(f"/api/v1/proposals/{proposal['id']}/decisions", json={"decision": "approve"})
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        assert refused.headers["content-type"].startswith("application/json")
        ready(web, 200)  # restarted

        decision = {"decision": "approve", "comment": "Fine.", "decision_id": str(uuid.uuid4())}
        first = rep.post(f"/api/v1/proposals/{proposal['id']}/decisions", json=decision)
        assert first.status_code == 201, first.text

        os.kill(child_running(process.pid, "start-dev"), signal.SIGKILL)
        assert not ready(web, 503, within=5)["checks"]["temporal"]["ok"]
        ready(web, 200, within=60)  # Temporal, and the worker that lost it, are back
        again = rep.post(f"/api/v1/proposals/{proposal['id']}/decisions", json=decision)
        assert again.status_code == 201, again.text
        decided = lead.get(f"/api/v1/proposals/{proposal['id']}").json()
        assert decided["parties"]["sony"]["state"] == "approved"
        log = (countersign.logs / "up1.err").read_text()
        assert "the worker stopped" in log and "the Temporal server stopped" in log
    finally:
        for client in (web, lead, rep):
            client.close()
    assert countersign.stop(process, signal.SIGTERM) < 15
