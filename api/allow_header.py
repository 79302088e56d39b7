"""A correct `Allow` header on 405 answers.

Starlette answers a method that a path does not support with the methods of
the first route that matched the path, not all of them: `OPTIONS
/api/v1/proposals` says `Allow: POST` although GET works too. This
middleware lists every method any route accepts for the path.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class AllowHeader:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                methods = _methods_for(scope)
                if methods:
                    MutableHeaders(scope=message)["Allow"] = ", ".join(sorted(methods))
            await send(message)

        await self.app(scope, receive, send_with_allow)


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _methods_for(scope: Scope) -> set[str]:
    """Ask the router, method by method, which ones fully match the path (the
    router nests included routers, so asking beats walking its internals)."""
    routes = scope["app"].router.routes
    return {
        method
        for method in HTTP_METHODS
        if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in routes)
    }
