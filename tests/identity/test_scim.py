"""SCIM 2.0 provisioning (RFC 7643/7644) with each organisation's own token: create, read, list with
a filter, replace, patch, deactivate and delete, within that organisation's accounts alone."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, select

from countersign.storage import delegation
from countersign.storage.accounts import create_token
from countersign.storage.db import transaction
from countersign.storage.identity import create_scim_token
from countersign.storage.tables import Delegation, User, utcnow
from tests import factories

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.fixture
def scim(open_client, engine, users):
    """`scim(organisation)`: an HTTP client carrying that organisation's SCIM token."""

    def client_for(organisation: str) -> httpx.AsyncClient:
        with transaction(engine) as session:
            token = create_scim_token(session, organisation)
        return open_client(token)

    return client_for


def new_user(email: str, **extra) -> dict:
    return {
        "schemas": [USER_SCHEMA],
        "userName": email,
        "displayName": email.split("@")[0].title(),
        "emails": [{"value": email, "primary": True}],
        "active": True,
        **extra,
    }


def patch(*operations: dict) -> dict:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}


async def find(client: httpx.AsyncClient, email: str) -> dict:
    answer = await client.get("/scim/v2/Users", params={"filter": f'userName eq "{email}"'})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_without_an_organisations_token_nothing_is_reached(open_client, users):
    client = open_client()
    for headers in ({}, {"Authorization": "Bearer cs_scim_not-a-token"}, {"Authorization": "Basic eDp5"}):
        answer = await client.get("/scim/v2/Users", headers=headers)
        assert answer.status_code == 401
        assert answer.json()["schemas"] == [ERROR_SCHEMA] and "SCIM token" in answer.json()["detail"]
        assert answer.headers["content-type"].startswith("application/scim+json")


async def test_create_get_and_list_a_reps_account(scim, engine):
    sony = scim("sony")
    created = await sony.post("/scim/v2/Users", json=new_user("Dana@Sony.example", externalId="okta-42"))
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["userName"], body["active"], body["externalId"], body["roles"][0]["value"]) == (
        "dana@sony.example",
        True,
        "okta-42",
        "rep",
    )
    assert created.headers["location"].endswith(f"/scim/v2/Users/{body['id']}")
    fetched = await sony.get(f"/scim/v2/Users/{body['id']}")
    assert fetched.json()["userName"] == "dana@sony.example"
    listed = await find(sony, "dana@sony.example")
    assert listed["totalResults"] == 1 and listed["Resources"][0]["id"] == body["id"]
    everyone = (await sony.get("/scim/v2/Users")).json()
    assert {r["userName"] for r in everyone["Resources"]} == {"rep.sony@example.com", "dana@sony.example"}
    with Session(engine) as session:
        dana = session.exec(select(User).where(User.email == "dana@sony.example")).one()
        assert (dana.role, dana.party) == ("rep", "sony")
    assert [e.detail["account"] for e in factories.access_chain(engine, "account_created")] == ["dana@sony.example"]


async def test_the_platform_provisions_its_own_staff_with_their_roles(scim):
    platform = scim("platform")
    created = await platform.post(
        "/scim/v2/Users", json=new_user("audit@stream.example", roles=[{"value": "compliance"}])
    )
    assert created.status_code == 201, created.text
    assert created.json()["roles"][0]["value"] == "compliance"
    no_role = await platform.post("/scim/v2/Users", json=new_user("who@stream.example"))
    assert no_role.status_code == 400 and "roles" in no_role.json()["detail"]
    rep = await platform.post("/scim/v2/Users", json=new_user("rep@stream.example", roles=[{"value": "rep"}]))
    assert rep.status_code == 400  # the platform's provider makes no reps
    staff = {r["userName"] for r in (await platform.get("/scim/v2/Users")).json()["Resources"]}
    assert "audit@stream.example" in staff and not any("rep." in name for name in staff)


@pytest.mark.parametrize(
    ("body", "status", "scim_type"),
    [
        (new_user("not-an-address"), 400, "invalidValue"),
        (
            new_user("x@sony.example", roles=[{"value": "admin"}]),
            400,
            "invalidValue",
        ),  # a party makes reps only
        ({"schemas": [USER_SCHEMA]}, 400, "invalidValue"),  # no userName
        (new_user("rep.universal@example.com"), 409, "uniqueness"),  # another organisation's address
        (new_user("x@sony.example", displayName="Eve\r\nBcc: all@example.com"), 400, "invalidValue"),
        (new_user("y@sony.example", displayName="<b>Eve</b>"), 400, "invalidValue"),  # markup into mail
    ],
)
async def test_bad_accounts_are_refused_with_a_scim_error(scim, engine, body, status, scim_type):
    answer = await scim("sony").post("/scim/v2/Users", json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["scimType"] == scim_type and answer.json()["detail"]
    assert factories.access_chain(engine, "account_created") == []  # nothing half-stored


async def test_malformed_requests_are_4xx(scim, users):
    sony = scim("sony")
    assert (
        await sony.post("/scim/v2/Users", content=b"{nope", headers={"content-type": "application/json"})
    ).status_code == 400
    assert (await sony.get("/scim/v2/Users", params={"filter": "userName eq"})).json()[
        "scimType"
    ] == "invalidFilter"
    answer = await sony.patch(
        f"/scim/v2/Users/{users['sony'].id}", json=patch({"op": "explode", "path": "x"})
    )
    assert answer.status_code == 400
    assert (await sony.get("/scim/v2/Users/99999999999999999999")).status_code == 404


async def test_another_organisations_accounts_do_not_exist_for_a_token(scim, users, engine):
    universal = scim("universal")
    sony_rep = users["sony"].id
    assert (await universal.get(f"/scim/v2/Users/{sony_rep}")).status_code == 404
    assert (
        await universal.patch(
            f"/scim/v2/Users/{sony_rep}", json=patch({"op": "replace", "path": "active", "value": False})
        )
    ).status_code == 404
    assert (
        await universal.put(f"/scim/v2/Users/{sony_rep}", json=new_user("rep.sony@example.com"))
    ).status_code == 404
    assert (await universal.delete(f"/scim/v2/Users/{sony_rep}")).status_code == 404
    assert (await find(universal, "rep.sony@example.com"))["totalResults"] == 0
    with Session(engine) as session:
        assert session.get(User, sony_rep).active


async def test_replace_and_patch_change_the_account(scim, users, engine):
    sony = scim("sony")
    rep = users["sony"].id
    replaced = await sony.put(
        f"/scim/v2/Users/{rep}", json=new_user("rep.sony@example.com", displayName="Renamed Rep")
    )
    assert replaced.status_code == 200 and replaced.json()["displayName"] == "Renamed Rep"
    renamed = await sony.patch(
        f"/scim/v2/Users/{rep}",
        json=patch(
            {"op": "replace", "path": "userName", "value": "new.rep@sony.example"},
            {
                "op": "replace",
                "path": "emails",
                "value": [{"value": "new.rep@sony.example", "primary": True}],
            },
        ),
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["userName"] == "new.rep@sony.example"
    with Session(engine) as session:
        assert session.get(User, rep).email == "new.rep@sony.example"
    assert factories.access_chain(engine, "account_renamed")[0].detail == {
        "account": "rep.sony@example.com",
        "to": "new.rep@sony.example",
        "via": "scim",
    }


async def test_deactivation_ends_sessions_tokens_and_delegations_at_once(open_client, scim, users, engine, browser):
    rep, colleague = users["sony"], factories.user(engine, "rep", "sony", "colleague@sony.example")
    with transaction(engine) as session:
        token = create_token(session, rep.email, scopes=factories.token_scopes(session, rep.email))
        given = delegation.create(session, rep, colleague.email, utcnow() + timedelta(days=3))
        held = delegation.create(session, colleague, rep.email, utcnow() + timedelta(days=3))
    page = await browser("sony")
    assert (await page.get("/")).status_code == 200
    rep_api = open_client(token)
    assert (await rep_api.get("/api/v1/inbox")).status_code == 200

    ended = await scim("sony").patch(
        f"/scim/v2/Users/{rep.id}", json=patch({"op": "replace", "path": "active", "value": False})
    )
    assert ended.status_code == 200 and ended.json()["active"] is False
    assert (await page.get("/")).status_code == 303  # signed out: to the login page
    assert (await rep_api.get("/api/v1/inbox")).status_code == 401
    with Session(engine) as session:
        for row in (given, held):
            assert session.get(Delegation, row.id).revoked_by == "scim:sony"
    ended_entries = factories.access_chain(engine, "delegation_ended")
    assert {(e.detail["delegator"], e.detail["reason"], e.detail["returned_to"]) for e in ended_entries} == {
        (rep.email, "account_deactivated", "sony"),
        (colleague.email, "account_deactivated", "sony"),
    }
    (entry,) = factories.access_chain(engine, "account_deactivated")
    assert (entry.actor, entry.detail["tokens_revoked"], entry.detail["delegations_ended"]) == (
        "scim:sony",
        1,
        2,
    )
    # And back: reactivated, the old session and token stay ended.
    back = await scim("sony").patch(
        f"/scim/v2/Users/{rep.id}", json=patch({"op": "replace", "value": {"active": True}})
    )
    assert back.json()["active"] is True
    assert (await page.get("/")).status_code == 303
    assert [e.detail["account"] for e in factories.access_chain(engine, "account_reactivated")] == [rep.email]


async def test_delete_deactivates_and_hides_the_account(scim, users, engine):
    sony = scim("sony")
    rep = users["sony"].id
    assert (await sony.delete(f"/scim/v2/Users/{rep}")).status_code == 204
    assert (await sony.get(f"/scim/v2/Users/{rep}")).status_code == 404
    assert (await sony.delete(f"/scim/v2/Users/{rep}")).status_code == 404
    assert (await find(sony, "rep.sony@example.com"))["totalResults"] == 0
    with Session(engine) as session:
        assert session.get(User, rep).active is False  # kept: decisions and the log name it
    assert [
        e.kind
        for e in factories.access_chain(engine, "account_deactivated") + factories.access_chain(engine, "account_deleted")
    ] == ["account_deactivated", "account_deleted"]


async def test_the_service_provider_config_tells_what_is_supported(scim, open_client):
    answer = await scim("merlin").get("/scim/v2/ServiceProviderConfig")
    assert answer.status_code == 200, answer.text
    config = answer.json()
    assert config["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert config["patch"]["supported"] is True and config["filter"]["supported"] is True
    assert config["bulk"]["supported"] is False
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    assert (await open_client().get("/scim/v2/ServiceProviderConfig")).status_code == 401


async def test_groups_are_the_organisations_roles_and_membership_gives_the_role(scim, users, engine):
    platform = scim("platform")
    listed = (await platform.get("/scim/v2/Groups")).json()
    assert [g["displayName"] for g in listed["Resources"]] == ["lead", "compliance", "admin"]  # no provider here
    admins = (await platform.get("/scim/v2/Groups/admin")).json()
    assert [m["display"] for m in admins["members"]] == ["admin@example.com"]
    lead = users["lead"].id
    added = await platform.patch("/scim/v2/Groups/admin", json=patch(
        {"op": "add", "path": "members", "value": [{"value": str(lead)}]}))
    assert added.status_code == 200, added.text
    assert {m["display"] for m in added.json()["members"]} == {"admin@example.com", "lead@example.com"}
    with Session(engine) as session:
        assert session.get(User, lead).role == "admin"
    # Out of every group of its organisation: no role, so no access.
    removed = await platform.patch("/scim/v2/Groups/admin", json=patch(
        {"op": "remove", "path": f'members[value eq "{lead}"]'}))
    assert [m["display"] for m in removed.json()["members"]] == ["admin@example.com"]
    with Session(engine) as session:
        assert session.get(User, lead).active is False
    assert [e.detail["to"] for e in factories.access_chain(engine, "role_changed")] == ["admin"]
    assert [e.detail["account"] for e in factories.access_chain(engine, "account_deactivated")] == ["lead@example.com"]


async def test_group_changes_stay_within_the_organisation(scim, users, engine):
    sony = scim("sony")
    assert [g["id"] for g in (await sony.get("/scim/v2/Groups")).json()["Resources"]] == ["rep"]
    assert (await sony.get("/scim/v2/Groups/admin")).status_code == 404  # the platform's, not Sony's
    foreign = await sony.patch("/scim/v2/Groups/rep", json=patch(
        {"op": "add", "path": "members", "value": [{"value": str(users["universal"].id)}]}))
    assert foreign.status_code == 404  # Universal's rep does not exist for Sony
    renamed = await sony.put("/scim/v2/Groups/rep", json={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "admins"})
    assert renamed.status_code == 400 and renamed.json()["scimType"] == "mutability"
    emptied = await sony.put("/scim/v2/Groups/rep", json={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "rep", "members": []})
    assert emptied.status_code == 200 and "members" not in emptied.json()
    with Session(engine) as session:
        assert session.get(User, users["sony"].id).active is False
        assert session.get(User, users["universal"].id).active is True
    assert (await sony.post("/scim/v2/Groups", json={"displayName": "new"})).status_code == 405
