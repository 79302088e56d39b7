"""Signing in and out: recorded for compliance, throttled after repeated
failures (across processes), and a sign-out ends the session for good."""

from __future__ import annotations

from datetime import timedelta

import httpx
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import update
from sqlmodel import Session, select

from api.app import SESSION_MAX_AGE, create_app
from countersign.storage import audit, throttle
from countersign.storage.tables import AuditEntry, LoginFailure, User
from tests import factories
from tests.web_client import Browser, csrf_of


def access_log(engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return audit.chain(session, None)


async def test_sign_in_failure_and_sign_out_are_recorded_on_the_access_chain(browser, users, engine):
    b = await browser()
    assert (await b.login(users["sony"].email, password="not my password")).status_code == 401
    assert (await b.login(users["sony"].email)).status_code == 303
    out = await b.post("/logout", token=csrf_of((await b.get("/")).text))
    assert out.status_code == 303

    entries = [e for e in access_log(engine) if e.kind in ("signed_in", "sign_in_failed", "signed_out")]
    assert [(e.kind, e.actor, e.party) for e in entries] == [
        ("sign_in_failed", "rep.sony@example.com", None),
        ("signed_in", "rep.sony@example.com", "sony"),
        ("signed_out", "rep.sony@example.com", "sony"),
    ]
    assert entries[0].detail["reason"] == "bad_credentials"
    assert all(e.detail["address"] for e in entries)
    with Session(engine) as session:
        assert audit.verify_chain(audit.chain(session, None)) is None


async def test_an_account_is_throttled_after_five_failures(browser, users, engine):
    b = await browser()
    for _ in range(throttle.MAX_PER_ACCOUNT):
        assert (await b.login(users["lead"].email, password="guess guess guess")).status_code == 401
    refused = await b.login(users["lead"].email)  # even the right password waits now
    assert refused.status_code == 429
    assert "Too many failed sign-ins. Try again after" in refused.text
    assert 0 < int(refused.headers["Retry-After"]) <= throttle.WINDOW.total_seconds() + 1
    assert (await b.get("/")).status_code == 303  # not signed in
    assert access_log(engine)[-1].detail == {"address": "127.0.0.1", "reason": "throttled"}

    other = await browser()  # another account from the same address is not held up
    assert (await other.login(users["compliance"].email)).status_code == 303

    with Session(engine) as session:  # the window passes
        for failure in session.exec(select(LoginFailure)):
            failure.at -= throttle.WINDOW + timedelta(seconds=1)
        session.commit()
    assert (await b.login(users["lead"].email)).status_code == 303
    with Session(engine) as session:
        assert not session.exec(select(LoginFailure).where(LoginFailure.email == "lead@example.com")).all()


async def test_an_address_is_throttled_after_many_failures_across_accounts(browser, users):
    b = await browser()
    for n in range(throttle.MAX_PER_ADDRESS):
        assert (await b.login(f"nobody{n}@example.com", password="guess guess")).status_code == 401
    refused = await b.login(users["admin"].email)
    assert refused.status_code == 429


async def test_the_throttle_holds_across_processes(app, settings, temporal_env, engine, users):
    """Two app instances on one database (two web processes) share the count."""
    second = create_app(settings, temporal=temporal_env.client, engine=engine)
    async with second.router.lifespan_context(second):
        for n in range(throttle.MAX_PER_ACCOUNT):
            target = app if n % 2 else second
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=target),
                                         base_url="http://testserver") as client:
                assert (await Browser(client).login(users["warner"].email, password="x" * 12)).status_code == 401
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://testserver") as c:
            assert (await Browser(c).login(users["warner"].email)).status_code == 429


async def test_sign_out_ends_the_session_even_for_a_copied_cookie(app, browser, users):
    b = await browser(users["merlin"].email)
    stolen = dict(b.client.cookies)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                 cookies=stolen) as thief:
        assert (await thief.get("/")).status_code == 200  # the copy works while the session lasts
        await b.post("/logout", token=csrf_of((await b.get("/")).text))
        after = await thief.get("/")
        assert after.status_code == 303 and after.headers["location"].startswith("/login")
    again = await browser(users["merlin"].email)  # signing in again works
    assert (await again.get("/")).status_code == 200


async def test_session_cookie_is_httponly_samesite_and_expires(browser, users):
    b = Browser((await browser()).client)
    page = await b.client.get("/login")
    response = await b.client.post("/login", data={"email": users["lead"].email, "password": factories.PASSWORD,
                                                   "csrf_token": csrf_of(page.text)})
    cookie = response.headers["set-cookie"].lower()
    assert "countersign_session=" in cookie
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert f"max-age={SESSION_MAX_AGE}" in cookie and SESSION_MAX_AGE <= 8 * 3600
    assert "secure" not in cookie  # served over plain HTTP here


async def test_session_cookie_is_secure_over_https(settings, temporal_env, engine, users):
    settings.base_url = "https://countersign.example"
    https_app = create_app(settings, temporal=temporal_env.client, engine=engine)
    async with https_app.router.lifespan_context(https_app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=https_app),
                                     base_url="https://countersign.example") as client:
            response = await Browser(client).login(users["lead"].email)
    assert response.status_code == 303
    assert "secure" in response.headers["set-cookie"].lower()


async def test_a_sign_in_stores_the_password_hash_authenticate_upgraded(browser, users, engine):
    old = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),)).hash(factories.PASSWORD)
    with Session(engine) as session:
        session.exec(update(User).where(User.email == users["lead"].email).values(password_hash=old))
        session.commit()
    b = await browser()
    assert (await b.login(users["lead"].email)).status_code == 303
    with Session(engine) as session:
        stored = session.exec(select(User.password_hash).where(User.email == users["lead"].email)).one()
    assert stored != old and "m=1024" in old and "m=1024" not in stored
    assert (await (await browser()).login(users["lead"].email)).status_code == 303  # and it still signs in
