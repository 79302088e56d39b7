"""The FastAPI application: JSON API under /api/v1 and the server-rendered pages."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client

from api import errors
from api.allow_header import AllowHeader
from api.deps import LoginRequired
from api.oidc import build_clients
from api.input_guard import InputGuard
from api.overload import Overload
from api.routes import (
    audit,
    auth,
    charts,
    certificate_pdf,
    checkpoint_pages,
    checkpoints,
    delegation_pages,
    delegations,
    health,
    grant_pages,
    grants,
    links,
    messages,
    thread_pages,
    outbox_pages,
    pages,
    proposal_pages,
    proposals,
    scim,
    webhooks,
    sso,
    token_pages,
    tokens,
)
from api.templating import build_templates
from countersign.domain.policy import load_policy
from countersign.settings import Settings
from countersign.storage.accounts import use_password_cost
from countersign.storage.db import make_engine
from workflows.client import connect

HERE = Path(__file__).parent
SESSION_MAX_AGE = 8 * 3600  # a working day; sign in again after that

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; "
                           "form-action 'self'; base-uri 'self'")
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# FastAPI's own API explorers load their scripts from a CDN and inline; they
# get every header but the CSP, which would leave them blank.
NO_CSP_PATHS = ("/docs", "/redoc")


class SecurityHeaders:
    """Adds the security headers to every response (pure ASGI: no buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        csp = not scope["path"].startswith(NO_CSP_PATHS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if csp:
                    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _login_required(request: Request, exc: LoginRequired) -> RedirectResponse:
    """A page that needs a signed-in user sends everyone else to the login page, and back."""
    target = "/login"
    if request.method == "GET":
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target += f"?next={quote(path, safe='')}"
    return RedirectResponse(target, status_code=303)


# A web process answers at most MAX_REQUESTS requests at once (api.overload
# refuses more with a JSON 503), and its thread pool, where sync routes and
# dependencies run, has more threads than that. So a request waiting in a
# thread for a database connection can never hold the last thread that the
# request holding a connection needs to finish: FastAPI validates a sync
# route's answer in that pool before the route's session closes.
MAX_REQUESTS = 100
THREADS = MAX_REQUESTS + 10


def create_app(settings: Settings | None = None, temporal: Client | None = None,
               engine: Engine | None = None) -> FastAPI:
    """Build the app. Tests pass their own Temporal client and engine."""
    settings = settings or Settings()
    policy = load_policy(settings.policy)  # a bad policy file stops start-up here
    use_password_cost(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        own_engine = engine is None
        app.state.engine = engine or make_engine(settings.db_url)
        app.state.temporal = temporal or await connect(settings.temporal_address, settings.temporal_namespace,
                                                       lazy=True)
        yield
        if own_engine:
            app.state.engine.dispose()

    app = FastAPI(
        title="Countersign",
        version="1",
        summary="Multi-party sign-off for AI music products",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.policy = policy
    app.state.oidc = build_clients(policy)  # each organisation's OpenID provider (api.oidc)
    app.state.templates = build_templates(policy)  # every template compiled now, before worker threads run
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret,
        session_cookie="countersign_session",
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.base_url.startswith("https://"),
    )
    # Inside the security headers (its refusals carry them too), outside the session and every route.
    app.add_middleware(InputGuard, max_body_bytes=settings.max_body_bytes, max_upload_bytes=settings.max_upload_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AllowHeader)
    app.add_middleware(Overload, limit=MAX_REQUESTS)  # outermost: a refusal costs nothing more
    errors.install(app)
    app.add_exception_handler(LoginRequired, _login_required)
    app.include_router(grants.preview_router(policy), prefix="/api/v1")
    app.include_router(grants.router, prefix="/api/v1")
    app.include_router(proposals.submit_router(policy), prefix="/api/v1")
    app.include_router(proposals.router, prefix="/api/v1")
    app.include_router(proposals.inbox_router, prefix="/api/v1")
    app.include_router(tokens.router, prefix="/api/v1")
    app.include_router(tokens.admin_router, prefix="/api/v1")
    app.include_router(delegations.router, prefix="/api/v1")
    app.include_router(audit.router, prefix="/api/v1")
    app.include_router(audit.export_router(policy), prefix="/api/v1")
    app.include_router(audit.pages)
    app.include_router(auth.router)
    app.include_router(sso.router)
    scim.install(app)
    webhooks.install(app)  # its JSON routes, its pages, and the payload in the OpenAPI's webhooks
    app.include_router(pages.router)
    app.include_router(grant_pages.router)
    app.include_router(proposal_pages.router)
    app.include_router(charts.router)
    app.include_router(outbox_pages.router)
    app.include_router(links.router)
    app.include_router(delegation_pages.router)
    app.include_router(token_pages.router)
    app.include_router(checkpoints.router, prefix="/api/v1")
    app.include_router(checkpoint_pages.router)
    app.include_router(health.probes)
    app.include_router(health.pages)
    app.include_router(certificate_pdf.router)
    app.include_router(messages.router, prefix="/api/v1")  # messages and files (issue 21)
    app.include_router(messages.pages)
    app.include_router(thread_pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app
