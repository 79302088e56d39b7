"""A provider that cannot be reached answers a page that says so (503), never a 500."""

from __future__ import annotations

import httpx

from api.app import create_app
from tests import factories
from tests.ports import free_port


async def test_an_unreachable_provider_is_a_503_page_naming_the_organisation(
    settings, temporal_env, engine, tmp_path, monkeypatch
):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    policy = tmp_path / "policy.toml"
    policy.write_text(factories.ONE_STAGE.read_text() + f"""
[parties.merlin.oidc]
issuer = "{dead}"
client_id = "countersign"
client_secret_env = "MERLIN_TEST_SECRET"
role_claim = "groups"
roles = {{ "reps" = "rep" }}
""")
    monkeypatch.setenv("MERLIN_TEST_SECRET", "s")
    app = create_app(settings.model_copy(update={"policy": policy}), temporal=temporal_env.client, engine=engine)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            login = await client.get("/login")
            assert "Sign in with Merlin" in login.text
            answer = await client.get("/login/oidc/merlin")
    assert answer.status_code == 503
    assert "Merlin&#39;s sign-in service cannot be reached" in answer.text
