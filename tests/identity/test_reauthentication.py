"""Signing in through a provider without a browser (the provider's own sign-in form posted over
HTTP), and re-authentication at the provider with max_age=300 (api.oidc.recent_provider_sign_in)."""

from __future__ import annotations

import html
import re
import time
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from api.oidc import recent_provider_sign_in
from tests import factories

# The providers' process and its live server start once per test process: keep their tests in one.
pytestmark = pytest.mark.xdist_group("identity")

FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


def through_provider(client: httpx.Client, start: str) -> tuple[httpx.Response, str]:
    """Follow `start` to the provider, sign in there as bob if it asks, and back: the last answer,
    and the authorization request Countersign made."""
    to_provider = client.get(start, follow_redirects=False)
    assert to_provider.status_code == 302, to_provider.text
    authorization = to_provider.headers["location"]
    answer = client.get(authorization, follow_redirects=True)
    if 'name="login"' in answer.text:  # the provider's sign-in form
        action = html.unescape(FORM_ACTION.search(answer.text).group(1))
        answer = client.post(
            str(answer.url.join(action)),
            follow_redirects=True,
            data={"prompt": "login", "login": "bob", "password": "anything"},
        )
    return answer, authorization


def test_sign_in_then_a_fresh_sign_in_at_the_provider_for_a_decision(providers):
    live = providers.live
    with httpx.Client(base_url=live.url, timeout=20) as client:
        signed_in, authorization = through_provider(client, "/login/oidc/sony?next=/tokens")
        assert signed_in.url.path == "/tokens" and signed_in.status_code == 200
        asked = parse_qs(urlsplit(authorization).query)
        assert asked["code_challenge_method"] == ["S256"] and asked["code_challenge"][0]  # PKCE
        assert asked["nonce"][0] and asked["state"][0] and "max_age" not in asked
        assert set(asked["scope"][0].split()) == {"openid", "email", "profile", "groups"}

        again, authorization = through_provider(client, "/login/oidc/reauth?next=/tokens")
        assert parse_qs(urlsplit(authorization).query)["max_age"] == ["300"]
        assert again.url.path == "/tokens" and again.status_code == 200
    assert [e.actor for e in factories.access_chain(live.engine, "reauthenticated")] == ["bob@sony.example"]
    (created,) = [
        e for e in factories.access_chain(live.engine, "account_created") if e.detail["account"] == "bob@sony.example"
    ]
    assert created.detail["via"] == "oidc" and created.party == "sony"


def test_reauthentication_needs_a_signed_in_person(providers):
    with httpx.Client(base_url=providers.live.url, timeout=20) as client:
        answer = client.get("/login/oidc/reauth", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_an_organisation_without_a_provider_has_no_sign_in_route(providers):
    with httpx.Client(base_url=providers.live.url, timeout=20) as client:
        assert client.get("/login/oidc/warner").status_code == 404
        assert client.get("/login/oidc/warner/callback?code=x&state=y").status_code == 404
        page = client.get("/login").text
    assert "Sign in with Sony Music Group" in page and "Sign in with Universal Music Group" in page
    assert "Sign in with Warner" not in page


def test_recent_provider_sign_in_reads_the_sessions_provider_and_time():
    rep = SimpleNamespace(id=7, role="rep", party="sony")
    now = time.time()
    session = {"user_id": 7, "sso": {"organisation": "sony", "auth_time": now - 60}}
    assert recent_provider_sign_in(rep, session, now=now)
    assert not recent_provider_sign_in(
        rep, session | {"sso": {"organisation": "sony", "auth_time": now - 301}}, now=now
    )
    assert not recent_provider_sign_in(rep, session | {"user_id": 8}, now=now)  # someone else's session
    assert not recent_provider_sign_in(rep, {"user_id": 7}, now=now)  # signed in with a password
    other = SimpleNamespace(id=7, role="rep", party="universal")
    assert not recent_provider_sign_in(other, session, now=now)  # not their organisation's provider
