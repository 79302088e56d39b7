"""API tokens through the pages: a user creates one with the form and sees its
secret once, the secret works on the JSON API until it is revoked with the
page's button; nobody revokes another's token but an admin; every form needs
the session's CSRF token."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from countersign.storage.tables import ApiToken, AuditEntry
from tests.web_client import csrf_of

SECRET_RE = re.compile(r'id="new-token-secret" value="(cs_[^"]+)"')


async def create_with_the_form(page_browser, name: str) -> tuple[str, str]:
    """(the secret, the page that showed it)."""
    page = await page_browser.get("/tokens")
    assert page.status_code == 200, page.text
    made = await page_browser.post("/tokens", {"name": name}, token=csrf_of(page.text))
    assert made.status_code == 200, made.text
    assert "it will not be shown again" in made.text
    assert made.headers["cache-control"] == "no-store"
    secret = SECRET_RE.search(made.text).group(1)
    return secret, made.text


def token_row(engine, name: str) -> ApiToken:
    with Session(engine) as session:
        return session.exec(select(ApiToken).where(ApiToken.name == name)).one()


async def test_create_shows_the_secret_once_and_revoke_makes_it_fail(browser, open_client, users, engine):
    lead = await browser(users["lead"].email)
    secret, shown = await create_with_the_form(lead, "release dashboard")
    assert "release dashboard" in shown

    api = open_client(secret)
    assert (await api.get("/api/v1/proposals")).status_code == 200

    listing = await lead.get("/tokens")
    assert "release dashboard" in listing.text and secret not in listing.text
    assert "it will not be shown again" not in listing.text
    row = token_row(engine, "release dashboard")
    assert row.last_used_at is not None and f'action="/tokens/{row.id}/revoke"' in listing.text

    revoked = await lead.post(f"/tokens/{row.id}/revoke", {}, token=csrf_of(listing.text))
    assert revoked.status_code == 303 and revoked.headers["location"] == "/tokens"
    assert secret not in revoked.headers["location"]
    assert (await api.get("/api/v1/proposals")).status_code == 401
    after = await lead.get("/tokens")
    assert "is revoked" in after.text and f'action="/tokens/{row.id}/revoke"' not in after.text
    with Session(engine) as session:
        entries = session.exec(select(AuditEntry).where(AuditEntry.kind.in_(["token_created", "token_revoked"]))
                               .order_by(AuditEntry.id)).all()
        assert [(e.kind, e.actor, e.detail["via"]) for e in entries] == [
            ("token_created", users["lead"].email, "web"), ("token_revoked", users["lead"].email, "web")]


async def test_a_bad_name_is_refused_in_the_form(browser, users, engine):
    lead = await browser(users["lead"].email)
    page = await lead.get("/tokens")
    too_long = await lead.post("/tokens", {"name": "x" * 101}, token=csrf_of(page.text))
    assert too_long.status_code == 422 and "at most 100 characters" in too_long.text
    assert 'value="' + "x" * 101 + '"' in too_long.text  # kept in the form, to shorten
    assert "new-token-secret" not in too_long.text
    with Session(engine) as session:
        assert session.exec(select(ApiToken)).all() == []


async def test_a_user_cannot_revoke_anothers_token(browser, open_client, users, engine):
    secret, _ = await create_with_the_form(await browser(users["lead"].email), "lead's")
    row = token_row(engine, "lead's")
    rep = await browser(users["sony"].email)
    page = await rep.get("/tokens")
    assert "lead&#39;s" not in page.text and "lead's" not in page.text
    assert (await rep.post(f"/tokens/{row.id}/revoke", {}, token=csrf_of(page.text))).status_code == 404
    assert (await rep.post(f"/admin/tokens/{row.id}/revoke", {}, token=csrf_of(page.text))).status_code == 403
    assert (await rep.post("/tokens/999999/revoke", {}, token=csrf_of(page.text))).status_code == 404
    assert token_row(engine, "lead's").revoked_at is None
    assert (await open_client(secret).get("/api/v1/proposals")).status_code == 200


async def test_every_form_needs_the_csrf_token(browser, open_client, users, engine):
    lead = await browser(users["lead"].email)
    secret, _ = await create_with_the_form(lead, "kept")
    row = token_row(engine, "kept")
    for url in ("/tokens", f"/tokens/{row.id}/revoke"):
        missing = await lead.client.post(url, data={"name": "forged"})
        wrong = await lead.post(url, {"name": "forged"}, token="not-the-sessions-token")
        assert missing.status_code == wrong.status_code == 403, url
        assert "Form expired" in wrong.text and "cs_" not in wrong.text
    admin = await browser(users["admin"].email)
    assert (await admin.post(f"/admin/tokens/{row.id}/revoke", {}, token="nope")).status_code == 403
    with Session(engine) as session:
        assert [t.name for t in session.exec(select(ApiToken))] == ["kept"]
    assert token_row(engine, "kept").revoked_at is None
    assert (await open_client(secret).get("/api/v1/proposals")).status_code == 200


async def test_an_admin_sees_and_revokes_anothers_token(browser, open_client, users, engine):
    secret, _ = await create_with_the_form(await browser(users["sony"].email), "sony script")
    row = token_row(engine, "sony script")
    admin = await browser(users["admin"].email)
    page = await admin.get("/tokens")
    assert "Every account" in page.text and users["sony"].email in page.text and "sony script" in page.text
    assert secret not in page.text
    assert f'action="/admin/tokens/{row.id}/revoke"' in page.text
    assert f'action="/tokens/{row.id}/revoke"' not in page.text  # not among the admin's own
    done = await admin.post(f"/admin/tokens/{row.id}/revoke", {}, token=csrf_of(page.text))
    assert done.status_code == 303
    assert users["sony"].email in (await admin.get("/tokens")).text
    assert (await open_client(secret).get("/api/v1/proposals")).status_code == 401
    with Session(engine) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.kind == "token_revoked")).one()
        assert (entry.actor, entry.detail["owner"], entry.detail["via"]) == (
            users["admin"].email, users["sony"].email, "web")


async def test_the_navigation_links_the_page_for_every_role(browser, users):
    for who in ("lead", "sony", "compliance", "admin"):
        page = await (await browser(users[who].email)).get("/")
        assert 'href="/tokens"' in page.text, who
    assert (await (await browser()).get("/tokens")).headers["location"].startswith("/login")
