"""The live server answers over a real socket, with a real worker behind it."""

import asyncio
import uuid
from collections import Counter

import httpx

from api.cli import CLIENT_KEEP_ALIVE
from countersign.settings import Settings
from countersign.storage.accounts import create_token
from countersign.storage.db import transaction
from countersign.storage.queries import workflow_id
from tests import factories
from tests.live_server import LiveServer


async def test_submit_over_a_real_socket(live_server):
    with transaction(live_server.engine) as session:
        token = create_token(session, "lead@example.com")
    async with httpx.AsyncClient(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        response = await client.post("/api/v1/proposals", json=factories.submission(parties=["sony"]))
        assert response.status_code == 201, response.text
        assert response.json()["parties"]["sony"]["state"] == "pending"
        assert (await client.get("/openapi.json")).json()["info"]["title"] == "Countersign"


ROUNDS = 8  # requests each of the 80 clients sends in turn: all 80 are in flight at once from the first


async def test_more_clients_than_database_connections_are_all_answered(dev_temporal, any_engine, tmp_path):
    """More requests at once than the pool has connections (PostgreSQL 30;
    SQLite's was 15): each is answered, none after a wait for the pool's 30 s
    timeout. A load check: requests waiting in threads for connections held by
    requests waiting for a thread froze the web process (api/app.py
    MAX_REQUESTS); this in-process server showed it only at times."""
    factories.all_users(any_engine)
    settings = Settings(data_dir=tmp_path, secret_key="load-" + uuid.uuid4().hex, policy=factories.ONE_STAGE,
                        task_queue=f"load-{uuid.uuid4().hex[:8]}")
    server = LiveServer(dev_temporal.client.service_client.config.target_host, any_engine, settings).start()
    proposal = None
    try:
        with transaction(any_engine) as session:
            lead, rep = create_token(session, "lead@example.com"), create_token(session, "rep.sony@example.com", scopes=factories.token_scopes(session, "rep.sony@example.com"))
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100,
                              keepalive_expiry=CLIENT_KEEP_ALIVE)
        async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=25, limits=limits) as client:
            proposal = (await client.post("/proposals", json=factories.submission(parties=["sony"]),
                                          headers={"Authorization": f"Bearer {lead}"})).json()

            async def reads() -> list[int]:
                return [(await client.get(f"/proposals/{proposal['id']}",
                                          headers={"Authorization": f"Bearer {lead}"})).status_code
                        for _ in range(ROUNDS)]

            async def decisions_on_nothing() -> list[int]:  # a decision's first half: auth, visibility
                return [(await client.post("/proposals/999999/decisions", json={"decision": "approve"},
                                           headers={"Authorization": f"Bearer {rep}"})).status_code
                        for _ in range(ROUNDS)]

            # A request stuck behind the pool's 30 s timeout fails on the client's 25 s one.
            answers = await asyncio.gather(*(reads() for _ in range(60)), *(decisions_on_nothing() for _ in range(20)))
    finally:
        # Its run would otherwise stay open on the session's dev server.
        if proposal:
            await dev_temporal.client.get_workflow_handle(workflow_id(proposal["id"])).terminate()
        server.stop()
    assert Counter(code for codes in answers[:60] for code in codes) == {200: 60 * ROUNDS}
    assert Counter(code for codes in answers[60:] for code in codes) == {404: 20 * ROUNDS}
