"""Addresses are validated wherever typed, what an anonymous visitor types is
stored bounded and validated, failed sign-ins slow the guesser without
locking the rep out, and API tokens may expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import Session, select

from api.routes.auth import NOT_AN_ADDRESS
from countersign.storage import throttle
from countersign.storage.accounts import AccountError, create_token, create_user
from countersign.storage.db import transaction
from countersign.storage.tables import ApiToken, AuditEntry, LoginFailure
from tests import factories
from tests.web_client import Browser, csrf_of

INVALID = ["not-an-address", "a@b", "x@localhost", "rep@example.com\r\nBcc: victim@example.com", "a b@example.com"]


def until(days: int = 7) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


@pytest.fixture
def browser_from(app):
    """`browser_from(ip)`: an anonymous browser whose requests come from `ip`."""
    clients = []

    def make(ip: str) -> Browser:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 40000)),
                                   base_url="http://testserver")
        clients.append(client)
        return Browser(client)

    yield make


async def test_addresses_in_api_fields_and_forms_are_validated(open_client, browser, users, engine):
    with transaction(engine) as session:
        token = create_token(session, users["sony"].email)
    sony = open_client(token)
    for address in INVALID:
        created = await sony.post("/api/v1/delegations", json={"delegate": address, "ends_at": until()})
        assert created.status_code == 422, (address, created.text)
        decided = await sony.post("/api/v1/proposals/1/decisions", json={"decision": "approve", "on_behalf_of": address})
        assert decided.status_code == 422, address
    page = await browser(users["sony"].email)
    form = await page.post("/delegations", {"delegate": "a@b", "ends_on": until()[:10]},
                           token=csrf_of((await page.get("/delegations")).text))
    assert form.status_code == 422 and "not a valid e-mail address" in form.text


def test_accounts_need_a_valid_address_a_plain_name_and_a_strong_password(engine):
    with transaction(engine) as session:
        for address in INVALID:
            with pytest.raises(AccountError, match="valid e-mail address"):
                create_user(session, address, "lead", factories.PASSWORD)
        with pytest.raises(AccountError, match="one line"):
            create_user(session, "eve@example.com", "lead", factories.PASSWORD, name="Eve\r\nBcc: x@example.com")
        with pytest.raises(AccountError, match="may not contain"):
            create_user(session, "eve@example.com", "lead", factories.PASSWORD, name="<img src=x>")
        with pytest.raises(AccountError, match="common"):
            create_user(session, "eve@example.com", "lead", "password123")
        with pytest.raises(AccountError, match="e-mail address or name"):
            create_user(session, "evelyn@example.com", "lead", "evelyn2026!!")
        assert create_user(session, "Eve@Example.COM", "lead", factories.PASSWORD).email == "eve@example.com"


async def test_a_failed_sign_in_stores_only_a_valid_address_or_a_placeholder(browser, engine):
    visitor = await browser()
    hostile = "<script>alert(1)</script>" + "x" * 200
    assert (await visitor.login(hostile, password="guess guess")).status_code == 401
    assert (await visitor.login("Nobody@Example.com", password="guess guess")).status_code == 401
    with Session(engine) as session:
        stored = [f.email for f in session.exec(select(LoginFailure).order_by(LoginFailure.id))]
        actors = [e.actor for e in session.exec(select(AuditEntry).where(AuditEntry.kind == "sign_in_failed"))]
    assert stored == [NOT_AN_ADDRESS, "nobody@example.com"]
    assert actors == [NOT_AN_ADDRESS, "nobody@example.com"]


async def test_a_guesser_elsewhere_cannot_lock_the_rep_out(browser_from, users):
    rep = users["sony"].email
    guesser = browser_from("203.0.113.7")
    for _ in range(throttle.MAX_PER_ACCOUNT):
        assert (await guesser.login(rep, password="guess guess guess")).status_code == 401
    assert (await guesser.login(rep)).status_code == 429  # the guesser waits, even with the right password
    at_desk = browser_from("198.51.100.20")
    assert (await at_desk.login(rep)).status_code == 303  # the rep at their own address does not


async def test_many_addresses_hold_the_account_except_for_a_known_device(browser_from, users, monkeypatch):
    monkeypatch.setattr(throttle, "MAX_PER_ACCOUNT_ANYWHERE", 6)
    rep = users["warner"].email
    known = browser_from("198.51.100.30")
    assert (await known.login(rep)).status_code == 303  # signed in here before: a known device
    await known.post("/logout", token=csrf_of((await known.get("/")).text))
    for n in range(6):  # a guesser spread over six addresses
        assert (await browser_from(f"203.0.113.{n + 10}").login(rep, password="guess guess")).status_code == 401
    stranger = browser_from("192.0.2.99")
    assert (await stranger.login(rep)).status_code == 429  # the account is held for unknown browsers
    assert (await known.login(rep)).status_code == 303  # the rep's own browser passes with the right password


async def test_api_tokens_may_expire_and_the_tokens_page_shows_when(open_client, browser, users, engine):
    with transaction(engine) as session:
        token = create_token(session, users["lead"].email)
    lead = open_client(token)
    assert (await lead.post("/api/v1/tokens", json={"expires_at": until(-1)})).status_code == 422
    assert (await lead.post("/api/v1/tokens", json={"expires_at": "2030-01-01T00:00:00"})).status_code == 422
    created = await lead.post("/api/v1/tokens", json={"name": "ci", "expires_at": until(3)})
    assert created.status_code == 201 and created.json()["expires_at"]
    expiring = open_client(created.json()["token"])
    assert (await expiring.get("/api/v1/tokens")).status_code == 200
    with transaction(engine) as session:  # time passes
        row = session.get(ApiToken, created.json()["id"])
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert (await expiring.get("/api/v1/tokens")).status_code == 401
    page = (await (await browser(users["lead"].email)).get("/tokens")).text
    assert "Expires" in page and "expired" in page and "never" in page
