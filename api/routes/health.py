"""Health for load balancers and compose (`/healthz`, `/readyz`) and for
admins (`/admin/health`: the parts `up` supervises, their restarts and errors)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session, col, func, select
from starlette.concurrency import run_in_threadpool

from api import readiness
from api.deps import SessionDep
from api.routes.pages import PageRoute, Viewer
from api.templating import render
from countersign.domain.access import Action, require
from countersign.storage.tables import OutboxMail

# Not in the OpenAPI document: operational probes, not the API (and /readyz is 503 by design when a part is down).
probes = APIRouter(include_in_schema=False)
pages = APIRouter(prefix="/admin", route_class=PageRoute, include_in_schema=False)


@probes.get("/healthz", summary="Liveness: the web process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@probes.get("/readyz", summary="Readiness: database, Temporal and a worker are reachable")
async def readyz(request: Request) -> JSONResponse:
    found = await readiness.checks(request)
    ready = all(check.ok for check in found.values())
    body = {"status": "ready" if ready else "unavailable",
            "checks": {name: {"ok": check.ok, "detail": check.detail} for name, check in found.items()}}
    if ready:
        return JSONResponse(body)
    return JSONResponse(body, status_code=503, headers={"Retry-After": readiness.RETRY_AFTER})


@pages.get("/health", name="admin_health")
async def health_page(request: Request, user: Viewer, session: SessionDep):
    require(user, Action.READ_HEALTH)
    health = getattr(request.app.state, "health", None)
    parked = await run_in_threadpool(_parked_mail, session)
    return render(request, "admin/health.html", {
        "page_title": "Service health",
        "checks": await readiness.checks(request),
        "parts": list(health.parts.values()) if health else [],
        "parked": parked,
    })


def _parked_mail(session: Session) -> int:
    return session.exec(select(func.count()).where(col(OutboxMail.parked_at).is_not(None))).one()
