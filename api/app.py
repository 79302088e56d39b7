"""The FastAPI application: JSON API under /api/v1 and the server-rendered pages."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.middleware.sessions import SessionMiddleware
from temporalio.client import Client

from api import errors
from api.routes import proposals
from countersign.db import make_engine
from countersign.policy import load_policy
from countersign.settings import Settings

HERE = Path(__file__).parent
SESSION_MAX_AGE = 8 * 3600  # a working day; sign in again after that


def create_app(settings: Settings | None = None, temporal: Client | None = None,
               engine: Engine | None = None) -> FastAPI:
    """Build the app. Tests pass their own Temporal client and engine."""
    settings = settings or Settings()
    policy = load_policy(settings.policy)  # a bad policy file stops start-up here

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        own_engine = engine is None
        app.state.engine = engine or make_engine(settings.db_url)
        app.state.temporal = temporal or await Client.connect(
            settings.temporal_address, namespace=settings.temporal_namespace, lazy=True
        )
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
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret,
        session_cookie="countersign_session",
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.base_url.startswith("https://"),
    )
    errors.install(app)
    app.include_router(proposals.router, prefix="/api/v1")
    app.include_router(proposals.inbox_router, prefix="/api/v1")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app
