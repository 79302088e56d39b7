"""How the web edge uses the database around a workflow call: no connection
held while an update waits (tests/faults found a pool run dry that froze
the web process), and a database that is gone answers 503, not 500."""

from __future__ import annotations

import sqlalchemy

from api import commands
from tests import factories
from workflows import client as wf


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

    monkeypatch.setattr(commands, "get_visible", gone)
    response = await api("sony").post(f"/api/v1/proposals/{proposal['id']}/decisions",
                                      json={"decision": "approve", "comment": "ok"})
    assert response.status_code == 503, response.text
    assert response.json() == {"detail": "the database is unavailable; try again"}
    assert response.headers["retry-after"] == "1"
