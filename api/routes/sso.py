"""Signing in through one's organisation's OpenID provider (api.oidc).

`GET /login/oidc/{organisation}` starts the flow (the sign-in page's "Sign
in with <organisation>" buttons); the provider sends the person back to
`/login/oidc/{organisation}/callback`. The organisation is the one in the
path whose client's state the session holds: the party comes from which
provider signed the person in, never from a claim. `GET /login/oidc/reauth`
asks the signed-in person's provider for a fresh sign-in (max_age=300), for
steps that need a recent one (api.oidc.recent_provider_sign_in).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import httpx2
from authlib.integrations.starlette_client import OAuthError, StarletteOAuth2App
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from joserfc.errors import JoseError
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from api import csrf
from api.deps import PageUser
from api.oidc import LEEWAY, REAUTH_MAX_AGE, claims_options, sign_in_choices
from api.routes.auth import client_address, safe_next
from api.routes.pages import PageRoute, error_page
from api.templating import render
from countersign.domain.identity import (
    IdentityRefused,
    display_name,
    organisation_of,
    provider,
    role_for_claims,
)
from countersign.domain.policy import OidcConfig
from countersign.storage import audit
from countersign.storage.accounts import AccountError, session_epoch
from countersign.storage.db import transaction
from countersign.storage.identity import identity_of, provider_sign_in
from countersign.storage.tables import User, utcnow

router = APIRouter(route_class=PageRoute, include_in_schema=False)

FLOW = "sso_flow"  # where the flow started from, kept in the session until the callback
# What a provider's answer can fail with: a protocol error (state, code, PKCE), the ID token's
# signature or claims, the provider unreachable.
REFUSED = (OAuthError, JoseError, httpx2.HTTPError, ValueError)


def _client(request: Request, organisation: str) -> tuple[OidcConfig, StarletteOAuth2App] | None:
    oidc = provider(request.app.state.policy, organisation)
    client = request.app.state.oidc.create_client(organisation) if oidc else None
    return (oidc, client) if client else None


def _callback_url(request: Request, organisation: str) -> str:
    return request.app.state.settings.base_url.rstrip("/") + f"/login/oidc/{organisation}/callback"


def _refused(
    request: Request, message: str, status_code: int, organisation: str, reason: str, actor: str | None = None
) -> Any:
    with transaction(request.app.state.engine) as write:
        audit.append(
            write,
            None,
            "sign_in_failed",
            utcnow(),
            actor=actor,
            detail={
                "address": client_address(request),
                "reason": reason,
                "via": "oidc",
                "organisation": organisation,
            },
        )
    return render(
        request,
        "login.html",
        {
            "page_title": "Sign in",
            "next": "",
            "email": "",
            "error": message,
            "providers": sign_in_choices(request.app.state.policy),
        },
        status_code=status_code,
    )


async def _start(
    request: Request, organisation: str, next: str, reauth_user: int | None = None, **extra: Any
) -> Any:
    found = _client(request, organisation)
    if found is None:
        return error_page(request, 404, "No organisation signs in that way here.")
    _, client = found
    request.session[FLOW] = {
        "organisation": organisation,
        "next": safe_next(next),
        "reauth_user": reauth_user,
    }
    try:
        return await client.authorize_redirect(request, _callback_url(request, organisation), **extra)
    except (httpx2.HTTPError, ValueError, RuntimeError):  # discovery failed
        name = display_name(request.app.state.policy, organisation)
        return await run_in_threadpool(
            _refused,
            request,
            f"{name}'s sign-in service cannot be reached just now. Try again in a moment.",
            503,
            organisation,
            "provider_unreachable",
        )


@router.get("/login/oidc/reauth")
async def reauthenticate(
    request: Request, user: PageUser, next: Annotated[str, Query(max_length=2000)] = ""
) -> Any:
    """A fresh sign-in at the signed-in person's own provider, no older than five minutes."""
    return await _start(request, organisation_of(user), next, reauth_user=user.id, max_age=REAUTH_MAX_AGE)


# A link, not a form: the page's CSP (form-action 'self') would stop a form's redirect to the
# provider. Starting a sign-in changes nothing; the state it keeps is what the callback checks.
@router.get("/login/oidc/{organisation}")
async def start(
    request: Request, organisation: str, next: Annotated[str, Query(max_length=2000)] = ""
) -> Any:
    return await _start(request, organisation, next)


async def _claims(client: StarletteOAuth2App, oidc: OidcConfig, token: dict) -> dict[str, Any]:
    """The verified ID token's claims, completed from the UserInfo endpoint where the ID token lacks
    the e-mail address or the role claim (only for the same subject)."""
    claims = dict(token.get("userinfo") or {})
    if claims and ("email" not in claims or oidc.role_claim not in claims) and token.get("access_token"):
        extra = dict(await client.userinfo(token=token))
        if extra.get("sub") == claims.get("sub"):
            claims = {**extra, **claims}
    return claims


@router.get("/login/oidc/{organisation}/callback")
async def callback(request: Request, organisation: str) -> Any:
    found = _client(request, organisation)
    if found is None:
        return error_page(request, 404, "No organisation signs in that way here.")
    oidc, client = found
    flow = request.session.pop(FLOW, None) or {}
    name = display_name(request.app.state.policy, organisation)
    try:
        token = await client.authorize_access_token(
            request, claims_options=claims_options(oidc), leeway=LEEWAY
        )
        claims = await _claims(client, oidc, token)
    except REFUSED as error:
        reason = getattr(error, "error", None) or type(error).__name__
        return await run_in_threadpool(
            _refused,
            request,
            f"Signing in with {name} did not complete ({reason}). Start again from this page.",
            401,
            organisation,
            str(reason),
        )
    if not claims:
        return await run_in_threadpool(
            _refused,
            request,
            f"{name} sent no ID token. Start again from this page.",
            401,
            organisation,
            "no_id_token",
        )
    if flow.get("organisation") == organisation and flow.get("reauth_user"):
        return await run_in_threadpool(_reauthenticated, request, organisation, claims, flow)
    role = role_for_claims(oidc, claims)
    email = claims.get("email") if isinstance(claims.get("email"), str) else None
    if role is None:
        return await run_in_threadpool(
            _refused,
            request,
            f"{name} does not give you a role in Countersign (no '{oidc.role_claim}' value "
            "it maps to one). Ask your organisation's administrator for access.",
            403,
            organisation,
            "no_role",
            email,
        )
    return await run_in_threadpool(_signed_in, request, organisation, oidc, claims, role, flow)


def _signed_in(
    request: Request, organisation: str, oidc: OidcConfig, claims: dict, role: str, flow: dict
) -> Any:
    policy = request.app.state.policy
    try:
        with transaction(request.app.state.engine) as write:
            user = provider_sign_in(
                write, organisation, oidc.issuer, claims, role, tuple(policy.parties), client_address(request)
            )
            user_id, epoch = user.id, session_epoch(user)
    except (IdentityRefused, AccountError, IntegrityError) as refused:
        if isinstance(refused, IntegrityError):  # the same person's first sign-in twice at once
            refused = IdentityRefused("your account was being created by another sign-in; sign in again")
        return _refused(
            request,
            f"Not signed in: {refused}.",
            403,
            organisation,
            "refused",
            claims.get("email") if isinstance(claims.get("email"), str) else None,
        )
    request.session.clear()  # a new session: nothing of the anonymous one carries over
    request.session["user_id"] = user_id
    request.session["epoch"] = epoch
    request.session["sso"] = _sso(organisation, oidc, claims)
    csrf.rotate(request)
    return RedirectResponse(flow.get("next") or "/", status_code=303)


def _sso(organisation: str, oidc: OidcConfig, claims: dict) -> dict[str, Any]:
    """What the session keeps of the sign-in: which provider, and when the person signed in there."""
    auth_time = claims.get("auth_time")
    if not isinstance(auth_time, int | float):
        auth_time = claims.get("iat") if isinstance(claims.get("iat"), int | float) else time.time()
    return {"organisation": organisation, "issuer": oidc.issuer, "auth_time": auth_time}


def _reauthenticated(request: Request, organisation: str, claims: dict, flow: dict) -> Any:
    oidc = provider(request.app.state.policy, organisation)
    with transaction(request.app.state.engine) as write:
        user = write.get(User, flow["reauth_user"])
        link = identity_of(write, user) if user else None
        same = (
            user is not None
            and user.active
            and request.session.get("user_id") == user.id
            and link is not None
            and (link.issuer, link.subject) == (oidc.issuer, claims.get("sub"))
        )
        auth_time = claims.get("auth_time")
        fresh = isinstance(auth_time, int | float) and time.time() - auth_time <= REAUTH_MAX_AGE + LEEWAY
        if same and fresh:
            audit.append(
                write,
                None,
                "reauthenticated",
                utcnow(),
                actor=user.email,
                party=user.party,
                detail={"address": client_address(request), "via": "oidc", "issuer": oidc.issuer},
            )
    if not (same and fresh):
        return _refused(
            request,
            "That sign-in was not yours, or not recent enough. Sign in again.",
            403,
            organisation,
            "reauth_mismatch",
        )
    request.session["sso"] = _sso(organisation, oidc, claims)
    return RedirectResponse(flow.get("next") or "/", status_code=303)
