"""Over the limit of requests at once, a JSON 503 with Retry-After (api.overload)."""

import asyncio

import httpx
from starlette.responses import PlainTextResponse

from api.overload import Overload


async def test_a_request_over_the_limit_gets_a_json_503_and_the_others_finish():
    release = asyncio.Event()
    entered = asyncio.Semaphore(0)

    async def slow(scope, receive, send):
        entered.release()
        await release.wait()
        await PlainTextResponse("done")(scope, receive, send)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=Overload(slow, limit=2)),
                                 base_url="http://testserver") as client:
        held = [asyncio.create_task(client.get("/")) for _ in range(2)]
        for _ in held:
            await entered.acquire()
        refused = await client.get("/")
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
        assert "2 requests at once" in refused.json()["detail"]
        release.set()
        assert [(await task).text for task in held] == ["done", "done"]
        assert (await client.get("/")).status_code == 200  # the count went down again
