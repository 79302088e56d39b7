"""Real OpenID providers for the identity tests: oidc-provider (npm, tests/identity/package.json,
installed by `npm ci` there; .ci/run does it) in one Node process, started once per session, with
two organisations' providers on addresses of their own (Sony on 127.0.0.2, Universal on 127.0.0.3:
their cookies never meet), and a live Countersign whose policy trusts them.

The providers sign with a key this fixture makes, so tests can also craft tokens the providers'
JWKS vouches for (wrong audience, expired) beside ones signed with another key.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from joserfc.jwk import RSAKey

from countersign.domain.policy import load_policy
from countersign.settings import Settings
from tests import factories
from tests.live_server import LiveServer

HERE = Path(__file__).parent
SECRETS = {"sony": "sony-client-secret-for-tests", "universal": "universal-client-secret-for-tests"}
HOSTS = {"sony": "127.0.0.2", "universal": "127.0.0.3"}
REP_GROUP = "countersign-reps"
# Each provider's people: the login typed at its sign-in form, and the claims it vouches for.
ACCOUNTS = {
    "sony": {
        "alice": {"email": "alice@sony.example", "name": "Alice Sony", "groups": [REP_GROUP, "staff"]},
        "mallory": {"email": "mallory@sony.example", "name": "Mallory", "groups": ["marketing"]},
        "bob": {"email": "bob@sony.example", "name": "Bob Sony", "groups": [REP_GROUP]},
    },
    "universal": {
        "carol": {"email": "carol@universal.example", "name": "Carol Universal", "groups": [REP_GROUP]},
        # Universal's provider vouching for an address that is a Sony account: a Sony rep or nothing.
        "eve": {"email": "alice@sony.example", "name": "Eve", "groups": [REP_GROUP]},
    },
}


@dataclass
class Providers:
    issuers: dict[str, str]
    key: RSAKey  # the providers' signing key
    policy_path: Path
    live: LiveServer | None = None


def identity_policy(path: Path, issuers: dict[str, str]) -> Path:
    text = factories.ONE_STAGE.read_text()
    for party, issuer in issuers.items():
        text += f"""
[parties.{party}.oidc]
issuer = "{issuer}"
client_id = "countersign-{party}"
client_secret_env = "{party.upper()}_OIDC_CLIENT_SECRET"
role_claim = "groups"
roles = {{ "{REP_GROUP}" = "rep" }}
scopes = ["openid", "email", "profile", "groups"]
"""
    path.write_text(text)
    load_policy(path)  # a mistake here should fail here
    return path


@pytest.fixture(scope="session")
def identity_env():
    with pytest.MonkeyPatch.context() as patch:
        for party, secret in SECRETS.items():
            patch.setenv(f"{party.upper()}_OIDC_CLIENT_SECRET", secret)
        yield


@pytest.fixture(scope="session")
def providers(identity_env, tmp_path_factory, dev_temporal, sqlite_template) -> Providers:
    """The providers' process and a live Countersign that trusts them (shared by the session)."""
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "oidc-provider").is_dir():
        pytest.skip("no Node.js or no oidc-provider: run `npm ci` in tests/identity (.ci/run does)")
    from tests.conftest import _sqlite_engine

    folder = tmp_path_factory.mktemp("identity")
    ports = {party: free_port(host) for party, host in HOSTS.items()}
    issuers = {party: f"http://{HOSTS[party]}:{ports[party]}" for party in HOSTS}
    policy_path = identity_policy(folder / "policy.toml", issuers)
    engine = _sqlite_engine(sqlite_template, folder)
    factories.all_users(engine)
    settings = Settings(
        data_dir=folder,
        secret_key="identity-" + uuid.uuid4().hex,
        policy=policy_path,
        task_queue=f"identity-{uuid.uuid4().hex[:8]}",
    )
    live = LiveServer(dev_temporal.client.service_client.config.target_host, engine, settings)
    live.engine = engine
    key = RSAKey.generate_key(
        2048, parameters={"kid": "test-signing-key", "use": "sig", "alg": "RS256"}, private=True
    )
    config = {
        "jwk": key.as_dict(private=True),
        "providers": [
            {
                "issuer": issuers[party],
                "host": HOSTS[party],
                "port": ports[party],
                "accounts": ACCOUNTS[party],
                "clients": [
                    {
                        "client_id": f"countersign-{party}",
                        "client_secret": SECRETS[party],
                        "redirect_uris": [f"{live.url}/login/oidc/{party}/callback"],
                        "response_types": ["code"],
                        "grant_types": ["authorization_code"],
                    }
                ],
            }
            for party in HOSTS
        ],
    }
    (folder / "providers.json").write_text(json.dumps(config))
    process = subprocess.Popen(
        [node, str(HERE / "provider.mjs"), str(folder / "providers.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "NODE_ENV": "test"},
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 20)
        if not ready or process.stdout.readline().strip() != "ready":
            raise RuntimeError("the OpenID providers did not start (node tests/identity/provider.mjs)")
        live.start()
        yield Providers(issuers, key, policy_path, live)
        live.stop()
    finally:
        process.terminate()
        process.wait(10)
        engine.dispose()


from tests.browser.conftest import chromium, chromium_path  # noqa: F401  (the browser fixtures, shared)
from tests.ports import free_port
