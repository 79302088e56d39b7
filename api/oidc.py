"""The organisations' OpenID Connect clients (Authlib), one per configured provider.

Authlib does the protocol: the authorization code flow with PKCE (S256),
state and nonce kept in the signed session cookie and checked once, the ID
token's signature checked against the issuer's published keys (JWKS) and its
claims (iss, aud, exp, iat, nonce, at_hash) against what was asked.
Client secrets come from the environment variable each provider names.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App

from countersign.domain.errors import PolicyError
from countersign.domain.identity import display_name, organisation_of, providers
from countersign.domain.policy import OidcConfig, Policy

LEEWAY = 30  # seconds of clock difference with a provider (Authlib's default, 120, is generous)
REAUTH_MAX_AGE = 300  # a sign-in at the provider within the last 5 minutes, for a decision


def sign_in_choices(policy: Policy) -> list[dict[str, str]]:
    """The sign-in page's "Sign in with <organisation>" buttons, one per configured provider."""
    return [{"key": key, "name": display_name(policy, key)} for key in providers(policy)]


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def build_clients(policy: Policy, environ: Mapping[str, str] = os.environ) -> OAuth:
    """An Authlib registry with one client per organisation's provider; a missing secret stops start-up."""
    oauth = OAuth()
    for organisation, oidc in providers(policy).items():
        secret = environ.get(oidc.client_secret_env)
        if not secret:
            where = "[platform.oidc]" if organisation == "platform" else f"[parties.{organisation}.oidc]"
            raise PolicyError(
                f"{where}: set the environment variable {oidc.client_secret_env} to the client "
                f"secret {oidc.issuer} gave Countersign"
            )
        oauth.register(
            name=organisation,
            client_id=oidc.client_id,
            client_secret=secret,
            server_metadata_url=discovery_url(oidc.issuer),
            client_kwargs={"scope": " ".join(oidc.scopes), "code_challenge_method": "S256"},
        )
    return oauth


def claims_options(oidc: OidcConfig) -> dict[str, Any]:
    """The ID token's issuer must be the one the policy names, whatever the discovery document says,
    and its audience must include this client: Authlib checks `aud` only when told to (it checks
    `azp` alone otherwise, which a token issued to another client can carry)."""
    return {
        "iss": {"essential": True, "values": [oidc.issuer]},
        "aud": {"essential": True, "value": oidc.client_id},
    }


async def verify_id_token(
    client: StarletteOAuth2App, oidc: OidcConfig, id_token: str, nonce: str, access_token: str | None = None
) -> dict[str, Any]:
    """The claims of `id_token` once its signature (the issuer's JWKS) and claims are verified; raises
    otherwise. The same check the sign-in callback makes (Authlib's `parse_id_token`)."""
    token = {"id_token": id_token} | ({"access_token": access_token} if access_token else {})
    return dict(
        await client.parse_id_token(token, nonce=nonce, claims_options=claims_options(oidc), leeway=LEEWAY)
    )


def recent_provider_sign_in(
    user: Any, session: Mapping[str, Any], within: int = REAUTH_MAX_AGE, now: float | None = None
) -> bool:
    """Whether `user` signed in through their own organisation's provider in the last `within` seconds
    (by the provider's `auth_time`), in this session: e.g. for re-authentication at a decision
    (`GET /login/oidc/reauth?next=...` asks the provider for a sign-in with max_age=300)."""
    sso = session.get("sso")
    if not isinstance(sso, dict) or session.get("user_id") != getattr(user, "id", None):
        return False
    if sso.get("organisation") != organisation_of(user):
        return False
    auth_time = sso.get("auth_time")
    return isinstance(auth_time, int | float) and 0 <= (now or time.time()) - auth_time <= within
