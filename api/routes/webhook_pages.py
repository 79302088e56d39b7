"""Webhook pages: an organisation's endpoints, the form that registers one,
and each endpoint's delivery log with its buttons (pause, resume, rotate the
secret, send a test event, redeliver, delete). Admins manage every
organisation's, party admins their own party's (api.webhook_commands).

A secret is shown once, in the answer to the POST that creates or rotates
it (a page that is not cached), never flashed or put in a URL.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse

from api import webhook_commands as commands
from api.csrf import CsrfProtected
from api.deps import PolicyDep, SessionDep, SettingsDep, TemporalClientDep, WriteSessionDep
from api.errors import status_for
from api.routes.pages import PageRoute, Viewer, sentence
from api.templating import flash, render
from countersign.domain.access import Action, require
from countersign.domain.errors import DomainError
from countersign.domain.webhooks import SUBSCRIBABLE, EndpointState
from countersign.storage import webhooks
from countersign.storage.tables import User
from countersign.storage.webhook_tables import WebhookEndpoint

WebhookId = Annotated[int, Path(ge=1, le=2**31 - 1)]
DeliveryId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PLATFORM = "platform"  # the form's value for the platform's own endpoint

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _list(request: Request, session, user: User, policy, error: str | None = None, status_code: int = 200,
          values: dict | None = None, created: tuple[WebhookEndpoint, str] | None = None):
    return render(request, "webhooks/list.html", {
        "page_title": "Webhooks",
        "endpoints": webhooks.endpoints_for(session, user),
        "event_types": sorted(SUBSCRIBABLE),
        "parties": list(policy.parties) if user.role == "admin" else [],
        "error": error,
        "values": values or {"url": "", "events": [], "party": user.party or PLATFORM, "description": ""},
        "created": created,
    }, status_code=status_code, user=user)


def _detail(request: Request, session, user: User, endpoint: WebhookEndpoint, secret: str | None = None):
    return render(request, "webhooks/detail.html", {
        "page_title": f"Webhook {endpoint.url}",
        "endpoint": endpoint,
        "deliveries": webhooks.deliveries(session, endpoint.id),
        "secret": secret,
    }, user=user)


@router.get("/webhooks", name="webhooks")
def webhook_list(request: Request, user: Viewer, session: SessionDep, policy: PolicyDep) -> object:
    require(user, Action.MANAGE_WEBHOOKS)
    return _list(request, session, user, policy)


@router.post("/webhooks")
def create(request: Request, user: Viewer, _: CsrfProtected, session: WriteSessionDep, policy: PolicyDep,
           url: Annotated[str, Form(max_length=2000)] = "",
           events: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies it)
           party: Annotated[str, Form(max_length=40)] = "",
           description: Annotated[str, Form(max_length=200)] = "") -> object:
    require(user, Action.MANAGE_WEBHOOKS)
    try:
        row = commands.create(session, user, url, events, None if party in ("", PLATFORM) else party,
                              list(policy.parties), description.strip() or None)
    except DomainError as error:
        session.rollback()
        return _list(request, session, user, policy, sentence(str(error)), status_for(error),
                     {"url": url, "events": events, "party": party, "description": description})
    session.commit()
    # No redirect: the secret is in this answer only (render() marks it no-store).
    return _list(request, session, user, policy, created=(row, row.secret))


@router.get("/webhooks/{webhook_id}", name="webhook")
def detail(request: Request, webhook_id: WebhookId, user: Viewer, session: SessionDep) -> object:
    require(user, Action.MANAGE_WEBHOOKS)
    return _detail(request, session, user, webhooks.endpoint_for(session, user, webhook_id))


@router.post("/webhooks/{webhook_id}/pause")
def pause(request: Request, webhook_id: WebhookId, user: Viewer, _: CsrfProtected,
          session: WriteSessionDep) -> object:
    require(user, Action.MANAGE_WEBHOOKS)
    endpoint = webhooks.endpoint_for(session, user, webhook_id)
    webhooks.set_state(session, endpoint, EndpointState.PAUSED)
    session.commit()
    flash(request, "The webhook is paused: events are queued and sent when you resume it.")
    return RedirectResponse(f"/webhooks/{webhook_id}", status_code=303)


@router.post("/webhooks/{webhook_id}/resume")
async def resume(request: Request, webhook_id: WebhookId, user: Viewer, _: CsrfProtected, session: WriteSessionDep,
                 temporal: TemporalClientDep, settings: SettingsDep) -> object:
    require(user, Action.MANAGE_WEBHOOKS)
    endpoint = webhooks.endpoint_for(session, user, webhook_id)
    webhooks.set_state(session, endpoint, EndpointState.ACTIVE)
    session.commit()
    await commands.wake(temporal, settings, webhook_id)
    flash(request, "The webhook is active: its queued events are being sent, in order.")
    return RedirectResponse(f"/webhooks/{webhook_id}", status_code=303)


@router.post("/webhooks/{webhook_id}/rotate-secret")
def rotate(request: Request, webhook_id: WebhookId, user: Viewer, _: CsrfProtected, session: WriteSessionDep,
           settings: SettingsDep) -> object:
    require(user, Action.MANAGE_WEBHOOKS)
    endpoint = webhooks.endpoint_for(session, user, webhook_id)
    secret = webhooks.rotate_secret(session, endpoint, commands.rotation_overlap(settings))
    session.commit()
    return _detail(request, session, user, endpoint, secret)


@router.post("/webhooks/{webhook_id}/test")
async def send_test(request: Request, webhook_id: WebhookId, user: Viewer, _: CsrfProtected,
                    session: WriteSessionDep, temporal: TemporalClientDep, settings: SettingsDep) -> object:
    require(user, Action.MANAGE_WEBHOOKS)
    endpoint = webhooks.endpoint_for(session, user, webhook_id)
    webhooks.queue_test(session, endpoint)
    session.commit()
    await commands.wake(temporal, settings, webhook_id)
    flash(request, "A test event is queued; its delivery shows below.")
    return RedirectResponse(f"/webhooks/{webhook_id}", status_code=303)


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver")
async def redeliver(request: Request, webhook_id: WebhookId, delivery_id: DeliveryId, user: Viewer,
                    _: CsrfProtected, session: WriteSessionDep, temporal: TemporalClientDep,
                    settings: SettingsDep) -> object:
    require(user, Action.MANAGE_WEBHOOKS)
    endpoint = webhooks.endpoint_for(session, user, webhook_id)
    webhooks.redeliver(session, endpoint, delivery_id)
    session.commit()
    await commands.wake(temporal, settings, webhook_id)
    flash(request, f"Delivery {delivery_id} is queued again.")
    return RedirectResponse(f"/webhooks/{webhook_id}", status_code=303)


@router.post("/webhooks/{webhook_id}/delete")
def delete(request: Request, webhook_id: WebhookId, user: Viewer, _: CsrfProtected,
           session: WriteSessionDep) -> object:
    require(user, Action.MANAGE_WEBHOOKS)
    endpoint = webhooks.endpoint_for(session, user, webhook_id)
    webhooks.delete_endpoint(session, endpoint)
    session.commit()
    flash(request, f"The webhook to {endpoint.url} is deleted: nothing more is sent to it.")
    return RedirectResponse("/webhooks", status_code=303)
