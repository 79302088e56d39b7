"""Request dependencies, as `Annotated` aliases the routes declare."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session
from temporalio.client import Client

from api.readiness import part_down
from countersign.domain.policy import Policy
from countersign.settings import Settings
from countersign.storage.accounts import GRANTS_CHECK, keep_last_use, session_epoch, token_user
from countersign.storage.db import write_session
from countersign.storage.tables import ApiToken, User
from workflows.client import WorkflowUnavailable


# FastAPI runs a sync dependency in its thread pool: a thread hop on every
# request that uses it. Dependencies that do no I/O, or none that can wait,
# are async. A session connects on first use, in whichever thread queries, and
# closing it only hands its connection back to the pool. Those that query
# stay sync, so a connection pool run dry blocks a pool thread, not the event
# loop.
async def get_session(request: Request) -> AsyncIterator[Session]:
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


async def get_write_session(request: Request) -> AsyncIterator[Session]:
    """For routes that write: each transaction takes the database's write lock
    as it begins (countersign.storage.db.WRITE); `get_session`'s never do."""
    with write_session(request.app.state.engine) as session:
        yield session


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_policy(request: Request) -> Policy:
    return request.app.state.policy


async def get_temporal(request: Request) -> Client:
    # Under `countersign up`, a command (a POST) while a part is known to be down answers
    # 503 at once (api.supervisor) rather than waiting for its restart. Reads of
    # history (the timeline) go on: they show what they can without it.
    down = part_down(request) if request.method not in ("GET", "HEAD") else None
    if down:
        raise WorkflowUnavailable(f"{down}; try again in a few seconds")
    return request.app.state.temporal


async def current_time() -> datetime:
    """The time a page computes with. The data it reads carries the workflow's
    clock, which is the wall clock in production; tests on the time-skipping
    server override this with that server's clock."""
    return datetime.now(UTC)


SessionDep = Annotated[Session, Depends(get_session)]
WriteSessionDep = Annotated[Session, Depends(get_write_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PolicyDep = Annotated[Policy, Depends(get_policy)]
TemporalClientDep = Annotated[Client, Depends(get_temporal)]
Now = Annotated[datetime, Depends(current_time)]

_bearer = HTTPBearer(auto_error=False, description="A per-user API token from `countersign tokens create`")


def _unauthorized() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "a valid API token is required: send 'Authorization: Bearer <token>'",
        headers={"WWW-Authenticate": "Bearer"},
    )


def _token_user(request: Request, session: Session,
                credentials: HTTPAuthorizationCredentials | None) -> tuple[ApiToken, User]:
    """The token and its user, or 401. The token stays on `request.state.api_token` (its scopes: api.reauth)."""
    found = token_user(session, credentials.credentials) if credentials else None
    if found is None:
        raise _unauthorized()
    token, user = found
    request.state.api_token = token
    session.commit()  # hands the connection back: an async route may await next
    keep_last_use(session.get_bind(), token)
    return token, user


def api_user(
    request: Request, session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The token's user, or 401; 403 for a token limited to the grants check."""
    token, user = _token_user(request, session, credentials)
    if GRANTS_CHECK in (token.scopes or []):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"this token is limited to {GRANTS_CHECK}; use a token without that scope")
    return user


def grants_check_user(
    request: Request, session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """Any token's user, a token limited to the grants check too."""
    return _token_user(request, session, credentials)[1]


ApiUser = Annotated[User, Depends(api_user)]
GrantsCheckUser = Annotated[User, Depends(grants_check_user)]


class LoginRequired(Exception):
    """Raised by page dependencies; answered with a redirect to the login page."""


def page_user(request: Request, session: SessionDep) -> User:
    user_id = request.session.get("user_id")
    user = session.get(User, user_id) if user_id else None
    if user is None or not user.active or request.session.get("epoch") != session_epoch(user):
        request.session.clear()
        raise LoginRequired()
    return user


PageUser = Annotated[User, Depends(page_user)]
