"""Fixtures for the security tests: clients signed in as each role, the way
a browser (login form, session cookie, CSRF token) and an API client (bearer
token) sign in."""

from __future__ import annotations

import pytest
import pytest_asyncio

from countersign.storage.accounts import create_token
from countersign.storage.db import transaction
from tests import factories
from tests.web_client import Browser


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
            return create_token(session, email, scopes=factories.token_scopes(session, email))

    return make
