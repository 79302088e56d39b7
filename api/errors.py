"""Domain errors to HTTP: the one place where the core's errors get a status."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from countersign.domain import errors
from countersign.storage.accounts import AccountError
from countersign.storage.throttle import Throttled
from workflows.client import WorkflowUnavailable

log = logging.getLogger(__name__)

STATUS_FOR = {
    errors.NotFound: 404,
    errors.Forbidden: 403,
    errors.InvalidDecision: 422,
    errors.NotPendingParty: 409,
    errors.StaleVersion: 409,
    errors.ProposalClosed: 409,
    errors.NotAwaitingChanges: 409,
    errors.NothingToAcknowledge: 409,
    AccountError: 422,
    Throttled: 429,  # too many wrong passwords at re-authentication (api.reauth)
    WorkflowUnavailable: 503,
}


class ErrorOut(BaseModel):
    detail: str | list[dict[str, Any]]


def _documented(description: str) -> dict:
    return {"model": ErrorOut, "description": description}


# Documented on every JSON route, so clients (and schemathesis) know them.
ERROR_RESPONSES = {
    400: _documented("The request body is not valid JSON"),
    401: _documented("No valid API token was sent"),
    403: _documented("The caller's role may not take this action"),
    404: _documented("No such proposal, or not one the caller may see"),
    409: _documented("The proposal's state does not allow this now (decided, closed, stale version)"),
    422: _documented("The input is invalid; the detail says which field and why"),
    503: _documented("The workflow service or the database is unavailable; try again"),
}


def status_for(error: errors.DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_FOR:
            return STATUS_FOR[kind]
    return 400


async def _domain_error_handler(request: Request, error: errors.DomainError) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status_code=status_for(error))


# The database gone for a moment (restarting, failing over, its connections
# cut, or locked past the busy timeout) is not a bug in the request: answer
# 503 so that clients retry, as they do when Temporal is unavailable.
DATABASE_UNAVAILABLE = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError,
                        sqlalchemy.exc.TimeoutError)


async def _database_unavailable_handler(request: Request, error: Exception) -> JSONResponse:
    log.warning("database unavailable for %s %s: %s", request.method, request.url.path, error)
    return JSONResponse({"detail": "the database is unavailable; try again"}, status_code=503,
                        headers={"Retry-After": "1"})


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.DomainError, _domain_error_handler)
    for kind in DATABASE_UNAVAILABLE:
        app.add_exception_handler(kind, _database_unavailable_handler)
