"""An HTTP client that uses the pages as a browser does: it signs in through
the login form and posts forms with their CSRF token."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx

from tests import factories

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@asynccontextmanager
async def app_clients(app) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """`client(token=None, **kwargs)`: an httpx client on the ASGI app, with that bearer token if given;
    every one made is closed at the end."""
    clients: list[httpx.AsyncClient] = []

    def client(token: str | None = None, **kwargs) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        clients.append(httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                         headers=headers, **kwargs))
        return clients[-1]

    try:
        yield client
    finally:
        for made in clients:
            await made.aclose()


def csrf_of(page: str) -> str:
    match = CSRF_RE.search(page)
    assert match, "no CSRF token in the page"
    return html.unescape(match.group(1))


class Browser:
    """A signed-in (or anonymous) client that posts forms the way the pages render them."""

    def __init__(self, client: httpx.AsyncClient):
        self.client = client

    async def get(self, url: str, **kwargs) -> httpx.Response:
        return await self.client.get(url, **kwargs)

    async def token(self) -> str:
        return csrf_of((await self.client.get("/login")).text)

    async def post(self, url: str, data: dict | None = None, token: str | None = None) -> httpx.Response:
        data = dict(data or {})
        data.setdefault("csrf_token", token or await self.token())
        return await self.client.post(url, data=data)

    async def login(self, email: str, password: str = factories.PASSWORD, next: str | None = None) -> httpx.Response:
        page = await self.client.get("/login", params={"next": next} if next else None)
        data = {"email": email, "password": password, "csrf_token": csrf_of(page.text)}
        if next is not None:
            data["next"] = next
        return await self.client.post("/login", data=data)
