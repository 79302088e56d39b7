"""How the web edge uses the database around a workflow call: no connection
held while an update waits (tests/faults found a pool run dry that froze
the web process), no wait for a connection on the event loop, and a
database that is gone answers 503, not 500."""

from __future__ import annotations

import asyncio
import threading

import pytest
import sqlalchemy

from api import commands, deps
from tests import factories
from tests.conftest import _sqlite_engine
from workflows import client as wf

# A pool that can run dry: SQLite's default one opens connections without limit.
POOL = dict(pool_size=3, max_overflow=2)


@pytest.fixture
def engine(sqlite_template, tmp_path):
    engine = _sqlite_engine(sqlite_template, tmp_path, **POOL)
    yield engine
    engine.dispose()


async def test_no_connection_is_held_while_the_workflow_decides(api, engine, monkeypatch):
    proposal = (await api("lead").post("/api/v1/proposals", json=factories.submission())).json()
    held: list[int] = []
    decide = wf.decide

    async def watching(*args, **kwargs):
        held.append(engine.pool.checkedout())
        return await decide(*args, **kwargs)

    monkeypatch.setattr(commands.wf, "decide", watching)
    response = await api("sony").post(f"/api/v1/proposals/{proposal['id']}/decisions",
                                      json={"decision": "approve", "comment": "ok"})
    assert response.status_code == 201, response.text
    assert held == [0], f"{held[0]} database connections held while the update was in flight"


async def test_a_database_outage_answers_503(api, monkeypatch):
    proposal = (await api("lead").post("/api/v1/proposals", json=factories.submission())).json()

    def gone(*args, **kwargs):
        raise sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("terminating connection"))

    monkeypatch.setattr(commands, "access_for", gone)
    response = await api("sony").post(f"/api/v1/proposals/{proposal['id']}/decisions",
                                      json={"decision": "approve", "comment": "ok"})
    assert response.status_code == 503, response.text
    assert response.json() == {"detail": "the database is unavailable; try again"}
    assert response.headers["retry-after"] == "1"


async def test_a_request_waiting_for_a_connection_leaves_the_event_loop_running(api, engine, monkeypatch):
    """With every pooled connection taken, a decision waits for one in a pool
    thread, not on the event loop: the loop goes on (here: it is what gives
    the connections back), and so does every other request of the process."""
    proposal = (await api("lead").post("/api/v1/proposals", json=factories.submission())).json()
    sony = api("sony")
    taken = threading.Event()
    connections = []

    def take_every_free_connection() -> None:
        free = POOL["pool_size"] + POOL["max_overflow"] - engine.pool.checkedout()
        connections.extend(engine.connect() for _ in range(free))
        assert engine.pool.checkedout() == POOL["pool_size"] + POOL["max_overflow"]  # dry
        taken.set()

    token_user = deps.token_user

    def with_the_pool_run_dry(*args, **kwargs):
        """The decision's first read, its token's (in the pool thread): the pool is empty now."""
        if not taken.is_set():
            take_every_free_connection()
        return token_user(*args, **kwargs)

    async def give_back_soon() -> None:  # runs only while the event loop runs
        await asyncio.sleep(0.5)
        for connection in connections:
            connection.close()

    monkeypatch.setattr(deps, "token_user", with_the_pool_run_dry)
    giver = asyncio.create_task(give_back_soon())
    try:
        response = await sony.post(f"/api/v1/proposals/{proposal['id']}/decisions",
                                   json={"decision": "approve", "comment": "ok"})
    finally:
        await giver
    assert taken.is_set()
    assert response.status_code == 201, response.text
    assert response.json()["parties"]["sony"]["state"] == "approved"
