"""In-flight proposals are searchable with Temporal's own tools, through the
custom search attributes.

The time-skipping test server does not implement visibility
(ListWorkflowExecutions answers "unimplemented"), so these tests run on the
Temporal CLI's dev server, which has a real visibility store.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
import pytest_asyncio
from temporalio.service import RPCError

from api.app import create_app
from countersign.storage.accounts import create_token
from countersign.storage.db import transaction
from tests import factories
from tests.audit.conftest import decide
from tests.web_client import app_clients
from workflows import search_attributes as sa
from workflows.worker import build_worker


async def test_the_time_skipping_server_has_no_visibility(temporal_env):
    """Why the tests below need the dev server; if this starts passing, they could move."""
    with pytest.raises(RPCError, match="unimplemented"):
        [w async for w in temporal_env.client.list_workflows("CountersignStatus = 'in_review'")]


@pytest_asyncio.fixture
async def dev_api(dev_temporal, engine, settings, users):
    """The web app and a worker on the dev server; `dev_api(role)` as in the `api` fixture."""
    async with build_worker(dev_temporal.client, engine, settings.task_queue, factories.policy()):
        app = create_app(settings, temporal=dev_temporal.client, engine=engine)
        async with app.router.lifespan_context(app), app_clients(app) as client:

            def client_for(who: str) -> httpx.AsyncClient:
                with transaction(engine) as session:
                    token = create_token(session, users[who].email, scopes=factories.token_scopes(session, users[who].email))
                return client(token)

            yield client_for


async def listed(client, query: str, expect: set[str], timeout: float = 20.0) -> set[str]:
    """The workflow ids the visibility query returns, polled until they equal
    `expect` (visibility is eventually consistent) or the time runs out."""
    found: set[str] = set()
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        found = {w.id async for w in client.list_workflows(query)}
        if found == expect:
            break
        await asyncio.sleep(0.2)
    return found


async def test_in_flight_proposals_are_listed_by_status_stage_and_pending_party(
    dev_api, dev_temporal, engine
):
    client = dev_temporal.client
    tag = uuid.uuid4().hex[:8]  # this test's proposals only: the dev server lives for the session
    ids = []
    for parties in (["sony", "warner"], ["merlin"]):
        response = await dev_api("lead").post(
            "/api/v1/proposals", json=factories.submission(parties=parties, title=f"Probe {tag}")
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    first, second = (f"proposal-{i}" for i in ids)
    await decide(dev_api, "merlin", ids[1], decision="reject", comment="No")
    ours = f"WorkflowId IN ('{first}', '{second}')"

    assert await listed(client, f"{ours} AND CountersignStatus = 'in_review'", {first}) == {first}
    assert await listed(client, f"{ours} AND CountersignStatus = 'rejected'", {second}) == {second}
    assert await listed(client, f"{ours} AND CountersignPendingParties = 'warner'", {first}) == {first}
    assert await listed(
        client, f"{ours} AND CountersignStage = 'Review' AND ExecutionStatus = 'Running'", {first}
    ) == {first}
    assert await listed(client, f"{ours} AND CountersignNextDue > '2000-01-01T00:00:00Z'", {first}) == {first}

    await decide(dev_api, "sony", ids[0])
    assert await listed(client, f"{ours} AND CountersignPendingParties = 'sony'", set()) == set()
    assert await listed(client, f"{ours} AND CountersignPendingParties = 'warner'", {first}) == {first}
    described = await client.get_workflow_handle(first).describe()
    assert described.typed_search_attributes.get(sa.PENDING) == ["warner"]
