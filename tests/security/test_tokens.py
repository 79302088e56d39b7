"""API tokens: hashed at rest, shown once, revocable, with a last-used time;
admins list and revoke anyone's; every creation and revocation is recorded."""

from __future__ import annotations

import hashlib

from sqlmodel import Session
from typer.testing import CliRunner

from api import cli
from countersign.storage import audit
from countersign.storage.tables import ApiToken
from tests.security.test_sessions import access_log


async def test_a_token_is_shown_once_works_and_stops_when_revoked(open_client, token_for, users, engine):
    me = open_client(token_for(users["sony"].email))
    created = await me.post("/api/v1/tokens", json={"name": "nightly export"})
    assert created.status_code == 201, created.text
    secret, token_id = created.json()["token"], created.json()["id"]
    assert secret.startswith("cs_") and created.json()["name"] == "nightly export"

    listed = (await me.get("/api/v1/tokens")).json()
    assert {t["id"] for t in listed} >= {token_id}
    assert secret not in str(listed) and all("token" not in t for t in listed)  # never shown again
    with Session(engine) as session:
        row = session.get(ApiToken, token_id)
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()  # hashed at rest
        assert secret not in str(row.model_dump())
        assert row.last_used_at is None

    new = open_client(secret)
    assert (await new.get("/api/v1/inbox")).status_code == 200
    mine = {t["id"]: t for t in (await new.get("/api/v1/tokens")).json()}
    assert mine[token_id]["last_used_at"] is not None

    revoked = await me.delete(f"/api/v1/tokens/{token_id}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert (await new.get("/api/v1/inbox")).status_code == 401
    assert (await me.delete(f"/api/v1/tokens/{token_id}")).status_code == 200  # again: nothing changes

    kinds = [(e.kind, e.actor, e.detail.get("token_id"), e.detail.get("via")) for e in access_log(engine)
             if e.detail.get("token_id") == str(token_id)]
    assert kinds == [("token_created", "rep.sony@example.com", str(token_id), "api"),
                     ("token_revoked", "rep.sony@example.com", str(token_id), "api")]  # revoked once


async def test_nobody_revokes_or_sees_another_users_token(open_client, token_for, users):
    lead = open_client(token_for(users["lead"].email))
    sony_secret = token_for(users["sony"].email)
    sony = open_client(sony_secret)
    sony_token = next(t for t in (await sony.get("/api/v1/tokens")).json())
    assert sony_token["id"] not in {t["id"] for t in (await lead.get("/api/v1/tokens")).json()}
    assert (await lead.delete(f"/api/v1/tokens/{sony_token['id']}")).status_code == 404
    assert (await lead.get("/api/v1/admin/tokens")).status_code == 403
    assert (await lead.delete(f"/api/v1/admin/tokens/{sony_token['id']}")).status_code == 403
    assert (await sony.get("/api/v1/inbox")).status_code == 200  # still works


async def test_admins_list_and_revoke_anyones_token(open_client, token_for, users, engine):
    admin = open_client(token_for(users["admin"].email))
    warner = open_client(token_for(users["warner"].email))
    everything = (await admin.get("/api/v1/admin/tokens")).json()
    assert {"admin@example.com", "rep.warner@example.com"} <= {t["owner"] for t in everything}
    only = (await admin.get("/api/v1/admin/tokens", params={"email": "rep.warner@example.com"})).json()
    assert [t["owner"] for t in only] == ["rep.warner@example.com"]

    revoked = await admin.delete(f"/api/v1/admin/tokens/{only[0]['id']}")
    assert revoked.status_code == 200 and revoked.json()["owner"] == "rep.warner@example.com"
    assert (await warner.get("/api/v1/inbox")).status_code == 401
    entry = access_log(engine)[-1]
    assert (entry.kind, entry.actor, entry.party, entry.detail["owner"]) == (
        "token_revoked", "admin@example.com", "warner", "rep.warner@example.com")
    assert (await admin.delete("/api/v1/admin/tokens/999999")).status_code == 404


def test_cli_lists_and_revokes_tokens(engine, users, token_for, settings, monkeypatch):
    monkeypatch.setenv("COUNTERSIGN_DATABASE_URL", str(engine.url))
    secret = token_for(users["believe"].email)
    token_for(users["lead"].email)
    runner = CliRunner()
    listed = runner.invoke(cli.app, ["tokens", "list", "--email", "rep.believe@example.com"])
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.strip().splitlines()
    assert lines[0].split("\t")[:2] == ["id", "owner"] and len(lines) == 2
    token_id = lines[1].split("\t")[0]
    assert "rep.believe@example.com" in lines[1] and secret not in listed.stdout

    revoked = runner.invoke(cli.app, ["tokens", "revoke", token_id])
    assert revoked.exit_code == 0, revoked.output
    assert f"revoked token {token_id} of rep.believe@example.com" in revoked.stdout
    with Session(engine) as session:
        assert session.get(ApiToken, int(token_id)).revoked_at is not None
        assert audit.chain(session, None)[-1].detail["via"] == "cli"
    assert "lead@example.com" in runner.invoke(cli.app, ["tokens", "list"]).stdout
    missing = runner.invoke(cli.app, ["tokens", "revoke", "999999"])
    assert missing.exit_code == 2 and "no token 999999" in missing.stderr


async def test_a_command_checks_its_token_and_marks_it_used_even_when_refused(open_client, token_for, users,
                                                                               engine):
    # Commands check the token as every API route does (api.deps.api_user).
    decision = {"decision": "approve"}
    unknown = await open_client("cs_not_a_token").post("/api/v1/proposals/1/decisions", json=decision)
    assert unknown.status_code == 401 and unknown.headers["www-authenticate"] == "Bearer"

    created = await open_client(token_for(users["sony"].email)).post("/api/v1/tokens", json={"name": "first use"})
    secret, token_id = created.json()["token"], created.json()["id"]
    refused = await open_client(secret).post("/api/v1/proposals/999999/decisions", json=decision)
    assert refused.status_code == 404, refused.text
    with Session(engine) as session:
        assert session.get(ApiToken, token_id).last_used_at is not None  # kept, though the command was refused
