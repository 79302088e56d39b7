"""The live server answers over a real socket, with a real worker behind it."""

import httpx

from countersign.db import transaction
from countersign.accounts import create_token
from tests import factories


async def test_submit_over_a_real_socket(live_server):
    with transaction(live_server.engine) as session:
        token = create_token(session, "lead@example.com")
    async with httpx.AsyncClient(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        response = await client.post("/api/v1/proposals", json=factories.submission(parties=["sony"]))
        assert response.status_code == 201, response.text
        assert response.json()["parties"]["sony"]["state"] == "pending"
        assert (await client.get("/openapi.json")).json()["info"]["title"] == "Countersign"
