"""Configuring organisations' identity: the policy's [parties.P.oidc] and [platform.oidc] tables,
the role mapping, the secrets from the environment, and `countersign scim-token create`."""

from __future__ import annotations

import copy
import os
import tomllib

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from api import cli
from api.oidc import build_clients
from countersign.domain.errors import PolicyError
from countersign.domain.identity import organisation_of, providers, role_for_claims
from countersign.domain.policy import parse_policy
from countersign.storage.db import make_engine
from countersign.storage.identity import scim_organisation
from tests import factories

SONY_OIDC = {
    "issuer": "https://login.sony.example",
    "client_id": "countersign",
    "client_secret_env": "SONY_OIDC_CLIENT_SECRET",
    "role_claim": "groups",
    "roles": {"countersign-reps": "rep"},
}
PLATFORM_OIDC = {
    "issuer": "https://login.stream.example/",
    "client_id": "cs",
    "client_secret_env": "PLATFORM_OIDC_CLIENT_SECRET",
    "role_claim": "roles",
    "roles": {"cs-admins": "admin", "cs-leads": "lead"},
}


def raw_policy(sony: dict | None = None, platform: dict | None = None) -> dict:
    raw = tomllib.loads(factories.ONE_STAGE.read_text())
    if sony is not None:
        raw["parties"]["sony"]["oidc"] = sony
    if platform is not None:
        raw["platform"] = platform
    return copy.deepcopy(raw)


def test_each_organisation_names_its_provider():
    policy = parse_policy(raw_policy(SONY_OIDC, {"name": "Streamer", "oidc": PLATFORM_OIDC}))
    found = providers(policy)
    assert list(found) == ["platform", "sony"]
    assert found["platform"].issuer == "https://login.stream.example/"  # as written: `iss` must equal it
    assert found["sony"].scopes == ["openid", "email", "profile"]
    assert policy.platform.name == "Streamer"
    assert providers(parse_policy(raw_policy())) == {}  # no table, no provider: passwords only


@pytest.mark.parametrize(
    ("sony", "platform", "fragment"),
    [
        (SONY_OIDC | {"client_secret": "s3cret"}, None, "[parties.sony.oidc]: unknown field 'client_secret'"),
        ({k: v for k, v in SONY_OIDC.items() if k != "issuer"}, None, "field 'issuer' is required"),
        (SONY_OIDC | {"issuer": "http://login.sony.example"}, None, "https://"),
        (SONY_OIDC | {"roles": {"countersign-reps": "admin"}}, None, "this provider may give rep"),
        (SONY_OIDC | {"roles": {}}, None, "field 'roles'"),
        (SONY_OIDC | {"client_secret_env": "not a name"}, None, "name of an environment variable"),
        (SONY_OIDC | {"scopes": ["email"]}, None, 'must include "openid"'),
        (None, {"oidc": PLATFORM_OIDC | {"roles": {"x": "rep"}}}, "[platform.oidc] field 'roles'"),
        (None, {"colour": "blue"}, "[platform]: unknown field 'colour'"),
    ],
)
def test_a_mistaken_identity_table_is_refused_naming_it(sony, platform, fragment):
    with pytest.raises(PolicyError) as refused:
        parse_policy(raw_policy(sony, platform))
    assert fragment in str(refused.value)


def test_no_party_may_take_the_platforms_key():
    raw = raw_policy()
    raw["parties"]["platform"] = raw["parties"]["sony"]
    with pytest.raises(PolicyError, match="give this party another key"):
        parse_policy(raw)


def test_the_role_comes_from_the_mapping_first_match_first():
    oidc = parse_policy(raw_policy(platform={"oidc": PLATFORM_OIDC})).platform.oidc
    assert role_for_claims(oidc, {"roles": ["cs-leads", "cs-admins"]}) == "admin"  # the mapping's order
    assert role_for_claims(oidc, {"roles": "cs-leads"}) == "lead"  # a single value
    assert role_for_claims(oidc, {"roles": ["staff"]}) is None
    assert role_for_claims(oidc, {"groups": ["cs-admins"]}) is None  # another claim
    assert role_for_claims(oidc, {"roles": [{"cs-admins": 1}]}) is None


def test_an_accounts_organisation_is_its_party_or_the_platform(users):
    assert organisation_of(users["sony"]) == "sony"
    assert {organisation_of(users[r]) for r in ("lead", "compliance", "admin")} == {"platform"}


def test_a_providers_secret_comes_from_the_environment_it_names():
    policy = parse_policy(raw_policy(SONY_OIDC))
    with pytest.raises(PolicyError, match="SONY_OIDC_CLIENT_SECRET"):
        build_clients(policy, environ={})
    client = build_clients(policy, environ={"SONY_OIDC_CLIENT_SECRET": "from-the-env"}).create_client("sony")
    assert client.client_secret == "from-the-env" and client.client_id == "countersign"


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith(("COUNTERSIGN_", "TEMPORAL_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COUNTERSIGN_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_scim_token_create_prints_one_organisations_token(cli_env):
    runner = CliRunner()
    sony = runner.invoke(cli.app, ["scim-token", "create", "--party", "sony"])
    platform = runner.invoke(cli.app, ["scim-token", "create", "--platform"])
    assert sony.exit_code == 0 and platform.exit_code == 0, sony.output + platform.output
    assert len(sony.stdout.splitlines()) == 1
    engine = make_engine(f"sqlite:///{cli_env / 'countersign.sqlite3'}")
    try:
        with Session(engine) as session:
            assert scim_organisation(session, sony.stdout.strip()) == "sony"
            assert scim_organisation(session, platform.stdout.strip()) == "platform"
    finally:
        engine.dispose()
    for args, fragment in (
        (["--party", "nobody"], "unknown party"),
        ([], "--party KEY or --platform"),
        (["--party", "sony", "--platform"], "--party KEY or --platform"),
    ):
        refused = runner.invoke(cli.app, ["scim-token", "create", *args])
        assert refused.exit_code == 2 and fragment in refused.output


def test_scim_tokens_are_listed_and_revoked(cli_env):
    runner = CliRunner()
    token = runner.invoke(cli.app, ["scim-token", "create", "--party", "merlin"]).stdout.strip()
    listed = runner.invoke(cli.app, ["scim-token", "list"])
    assert listed.exit_code == 0 and "\tmerlin\t" in listed.stdout and token not in listed.stdout
    token_id = listed.stdout.split("\t")[0]
    assert runner.invoke(cli.app, ["scim-token", "revoke", token_id]).exit_code == 0
    assert "revoked" in runner.invoke(cli.app, ["scim-token", "list"]).stdout
    engine = make_engine(f"sqlite:///{cli_env / 'countersign.sqlite3'}")
    try:
        with Session(engine) as session:
            assert scim_organisation(session, token) is None
    finally:
        engine.dispose()
    unknown = runner.invoke(cli.app, ["scim-token", "revoke", "999"])
    assert unknown.exit_code == 2 and "no SCIM token 999" in unknown.output
