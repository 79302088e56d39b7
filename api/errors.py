"""Domain errors to HTTP: the one place where the core's errors get a status."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from countersign import errors
from countersign.accounts import AccountError
from workflows.client import WorkflowUnavailable

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
    WorkflowUnavailable: 503,
}


def status_for(error: errors.DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_FOR:
            return STATUS_FOR[kind]
    return 400


async def _domain_error_handler(request: Request, error: errors.DomainError) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status_code=status_for(error))


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.DomainError, _domain_error_handler)
