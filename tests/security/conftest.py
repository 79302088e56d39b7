"""Fixtures for the security tests: clients signed in as each role, the way
a browser (login form, session cookie, CSRF token) and an API client (bearer
token) sign in."""

from __future__ import annotations

import html
import re

import httpx
import pytest
import pytest_asyncio

from countersign.accounts import create_token
from countersign.db import transaction
from tests import factories

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: str) -> str:
    match = CSRF_RE.search(page)
    assert match, "no CSRF token in the page"
    return html.unescape(match.group(1))


class Browser:
    """A client that signs in through the login form and posts forms with their CSRF token."""

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

    async def login(self, email: str, password: str = factories.PASSWORD) -> httpx.Response:
        page = await self.client.get("/login")
        return await self.client.post("/login", data={"email": email, "password": password,
                                                      "csrf_token": csrf_of(page.text)})


@pytest_asyncio.fixture
async def open_client(app):
    """`open_client(token=None)`: an httpx client on the app (with a bearer token if given)."""
    clients: list[httpx.AsyncClient] = []

    def make(token: str | None = None, **kwargs) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                   headers=headers, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest_asyncio.fixture
async def browser(open_client):
    """`await browser(email)`: a Browser signed in through the login form; `await browser()`: anonymous."""

    async def make(email: str | None = None) -> Browser:
        b = Browser(open_client())
        if email is not None:
            response = await b.login(email)
            assert response.status_code == 303, response.text
        return b

    return make


@pytest.fixture
def token_for(engine):
    def make(email: str) -> str:
        with transaction(engine) as session:
            return create_token(session, email)

    return make
