"""Domain errors to HTTP: the one place where the core's errors get a status."""

from __future__ import annotations

import logging
import math
from typing import Any

import sqlalchemy
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.readiness import RETRY_AFTER
from countersign.domain import errors
from countersign.domain.addresses import InvalidAddress
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
    errors.Conflict: 409,
    errors.NothingChanged: 422,
    errors.GrantRefused: 409,
    errors.Unacceptable: 422,
    errors.Refused: 422,
    AccountError: 422,
    InvalidAddress: 422,
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
    status = status_for(error)
    headers = {"Retry-After": RETRY_AFTER} if status == 503 else None  # a part restarting: try again soon
    return JSONResponse({"detail": str(error)}, status_code=status, headers=headers)


# The database gone for a moment (restarting, failing over, its connections
# cut, or locked past the busy timeout) is not a bug in the request: answer
# 503 so that clients retry, as they do when Temporal is unavailable.
DATABASE_UNAVAILABLE = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError,
                        sqlalchemy.exc.TimeoutError)


async def _database_unavailable_handler(request: Request, error: Exception) -> JSONResponse:
    log.warning("database unavailable for %s %s: %s", request.method, request.url.path, error)
    return JSONResponse({"detail": "the database is unavailable; try again"}, status_code=503,
                        headers={"Retry-After": "1"})


EXCERPT = 60  # characters of the caller's own input an error answer may quote back


def excerpt(value: Any) -> Any:
    """A short, JSON-safe excerpt of one input value: strings cut, non-finite
    numbers named, containers left out (the `loc` says where the problem is)."""
    if isinstance(value, str):
        return value if len(value) <= EXCERPT else value[:EXCERPT] + "…"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return None


def short_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    """pydantic's errors without whole inputs echoed back (a 1 MB body, a
    password, NaN that JSON cannot even write): loc, msg, type and an excerpt."""
    out = []
    for item in error.errors():
        msg = str(item.get("msg", ""))
        reason = (item.get("ctx") or {}).get("error")
        if item.get("type") == "json_invalid" and isinstance(reason, str):
            msg = f"{msg}: {reason}"  # where the JSON breaks, in the parser's words
        entry = {"type": item.get("type"), "loc": [p if isinstance(p, int) else str(p)[:60] for p in item.get("loc", ())],
                 "msg": msg[:300]}
        if "input" in item and excerpt(item["input"]) is not None:
            entry["input"] = excerpt(item["input"])
        out.append(entry)
    return out[:20]


async def _validation_error_handler(request: Request, error: RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": short_errors(error)}, status_code=422)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(errors.DomainError, _domain_error_handler)
    for kind in DATABASE_UNAVAILABLE:
        app.add_exception_handler(kind, _database_unavailable_handler)
