"""At most so many requests at once, and a JSON 503 beyond.

uvicorn's own `limit_concurrency` answers the request over the limit with a
plain-text 503; API clients and load balancers get the API's `{"detail"}`
shape and a `Retry-After` from this middleware instead.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

RETRY_AFTER_SECONDS = 1


class Overload:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.active = 0  # one event loop: no lock needed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            refusal = JSONResponse(
                {"detail": f"Countersign is answering {self.limit} requests at once; try again in a second"},
                status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
            await refusal(scope, receive, send)
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1
