"""JSON API: each organisation's webhooks (docs/webhooks.md).

Admins manage any organisation's endpoints, party admins their own party's
(api.webhook_commands). A new endpoint's signing secret is in the answer to
the call that creates it, and a rotated one in the rotation's answer: once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api import webhook_commands as commands
from api.deps import ApiUser, PolicyDep, SettingsDep, TemporalClientDep, WriteSessionDep
from api.errors import ERROR_RESPONSES
from api.text_types import NO_NUL
from countersign.domain.webhooks import CHECKPOINT_SIGNED, SUBSCRIBABLE, EndpointState
from countersign.storage import webhooks
from countersign.storage.webhook_tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint

WebhookId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The webhook's id")]
DeliveryId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The delivery's id")]
EventType = Literal[tuple(sorted(SUBSCRIBABLE))]  # type: ignore[valid-type]
EntryEventType = Literal[tuple(sorted(SUBSCRIBABLE - {CHECKPOINT_SIGNED}))]  # type: ignore[valid-type]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=2000, pattern=NO_NUL)]
    events: Annotated[list[EventType], Field(min_length=1, max_length=len(SUBSCRIBABLE))]
    party: Annotated[str, StringConstraints(max_length=40, pattern=NO_NUL)] | None = None  # none: the platform's
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200, pattern=NO_NUL)] | None = None


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    party: str | None  # none: the platform's own endpoint, which receives every proposal's events
    description: str | None
    state: str  # active, paused or disabled
    disabled_reason: str | None
    created_by: str
    created_at: datetime
    previous_secret_until: datetime | None  # during a rotation: the old secret signs too until then


class WebhookCreated(WebhookOut):
    secret: str  # the Standard Webhooks signing secret (whsec_...): shown this once


class AttemptOut(BaseModel):
    at: datetime
    status: int | None  # the HTTP status; none: no answer
    duration_ms: int
    response: str | None  # the answer's first 500 characters
    error: str | None


class DeliveryOut(BaseModel):
    id: int
    message_id: str  # the webhook-id header and the payload's id
    event_type: str
    proposal_id: int | None
    seq: int | None
    state: str  # pending, delivered or failed (its endpoint was disabled on it)
    attempt_count: int
    last_status: int | None
    created_at: datetime
    delivered_at: datetime | None
    redelivery_of: int | None
    attempts: list[AttemptOut]  # newest first
    payload: dict


def webhook_out(row: WebhookEndpoint) -> WebhookOut:
    return WebhookOut(id=row.id, url=row.url, events=list(row.events), party=row.party, description=row.description,
                      state=row.state, disabled_reason=row.disabled_reason, created_by=row.created_by,
                      created_at=row.created_at, previous_secret_until=row.previous_until)


def delivery_out(row: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryOut:
    return DeliveryOut(id=row.id, message_id=row.message_id, event_type=row.event_type, proposal_id=row.proposal_id,
                       seq=row.seq, state=row.state, attempt_count=row.attempts, last_status=row.last_status,
                       created_at=row.created_at, delivered_at=row.delivered_at, redelivery_of=row.redelivery_of,
                       attempts=[AttemptOut(at=a.at, status=a.status, duration_ms=a.duration_ms, response=a.response,
                                            error=a.error) for a in attempts],
                       payload=row.payload)


router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=ERROR_RESPONSES)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookCreated)
def create_webhook(body: WebhookCreate, user: ApiUser, session: WriteSessionDep, policy: PolicyDep) -> WebhookCreated:
    """Register an endpoint for the caller's organisation (admins: `party`, or none for the
    platform's); the answer carries its signing secret, once."""
    row = commands.create(session, user, body.url, list(body.events), body.party, list(policy.parties),
                          body.description)
    session.commit()
    return WebhookCreated(**webhook_out(row).model_dump(), secret=row.secret)


@router.get("", response_model=list[WebhookOut])
def list_webhooks(user: ApiUser, session: WriteSessionDep) -> list[WebhookOut]:
    """The endpoints the caller manages (never their secrets)."""
    commands.require(user, commands.Action.MANAGE_WEBHOOKS)
    return [webhook_out(row) for row in webhooks.endpoints_for(session, user)]


@router.get("/{webhook_id}", response_model=WebhookOut)
def get_webhook(webhook_id: WebhookId, user: ApiUser, session: WriteSessionDep) -> WebhookOut:
    commands.require(user, commands.Action.MANAGE_WEBHOOKS)
    return webhook_out(webhooks.endpoint_for(session, user, webhook_id))


@router.delete("/{webhook_id}", response_model=WebhookOut)
def delete_webhook(webhook_id: WebhookId, user: ApiUser, session: WriteSessionDep) -> WebhookOut:
    """Delete an endpoint: nothing more is queued or sent to it."""
    commands.require(user, commands.Action.MANAGE_WEBHOOKS)
    row = webhooks.endpoint_for(session, user, webhook_id)
    webhooks.delete_endpoint(session, row)
    session.commit()
    return webhook_out(row)


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryOut])
def list_deliveries(webhook_id: WebhookId, user: ApiUser, session: WriteSessionDep) -> list[DeliveryOut]:
    """The endpoint's last 100 deliveries, newest first, each with its attempts, newest first."""
    commands.require(user, commands.Action.MANAGE_WEBHOOKS)
    row = webhooks.endpoint_for(session, user, webhook_id)
    return [delivery_out(d, attempts) for d, attempts in webhooks.deliveries(session, row.id)]


@router.post("/{webhook_id}/deliveries/{delivery_id}/redeliver", status_code=status.HTTP_202_ACCEPTED,
             response_model=DeliveryOut)
async def redeliver(webhook_id: WebhookId, delivery_id: DeliveryId, user: ApiUser, session: WriteSessionDep,
                    temporal: TemporalClientDep, settings: SettingsDep) -> DeliveryOut:
    """Send a delivery again (same message id), after the endpoint's queue."""
    commands.require(user, commands.Action.MANAGE_WEBHOOKS)
    row = webhooks.endpoint_for(session, user, webhook_id)
    again = webhooks.redeliver(session, row, delivery_id)
    session.commit()
    await commands.wake(temporal, settings, row.id)
    return delivery_out(again, [])


@router.post("/{webhook_id}/test", status_code=status.HTTP_202_ACCEPTED, response_model=DeliveryOut)
async def send_test(webhook_id: WebhookId, user: ApiUser, session: WriteSessionDep, temporal: TemporalClientDep,
                    settings: SettingsDep) -> DeliveryOut:
    """Queue a `webhook.test` event for the endpoint."""
    commands.require(user, commands.Action.MANAGE_WEBHOOKS)
    row = webhooks.endpoint_for(session, user, webhook_id)
    delivery = webhooks.queue_test(session, row)
    session.commit()
    await commands.wake(temporal, settings, row.id)
    return delivery_out(delivery, [])


@router.post("/{webhook_id}/pause", response_model=WebhookOut)
def pause(webhook_id: WebhookId, user: ApiUser, session: WriteSessionDep) -> WebhookOut:
    """Hold deliveries: events are queued, none is sent, until resumed."""
    commands.require(user, commands.Action.MANAGE_WEBHOOKS)
    row = webhooks.endpoint_for(session, user, webhook_id)
    webhooks.set_state(session, row, EndpointState.PAUSED)
    session.commit()
    return webhook_out(row)


@router.post("/{webhook_id}/resume", response_model=WebhookOut)
async def resume(webhook_id: WebhookId, user: ApiUser, session: WriteSessionDep, temporal: TemporalClientDep,
                 settings: SettingsDep) -> WebhookOut:
    """Resume a paused endpoint, or re-enable a disabled one: its queue is sent, in order."""
    commands.require(user, commands.Action.MANAGE_WEBHOOKS)
    row = webhooks.endpoint_for(session, user, webhook_id)
    webhooks.set_state(session, row, EndpointState.ACTIVE)
    session.commit()
    await commands.wake(temporal, settings, row.id)
    return webhook_out(row)


@router.post("/{webhook_id}/rotate-secret", response_model=WebhookCreated)
def rotate_secret(webhook_id: WebhookId, user: ApiUser, session: WriteSessionDep,
                  settings: SettingsDep) -> WebhookCreated:
    """A new signing secret, shown once; the old one also signs for the rotation's overlap
    (COUNTERSIGN_WEBHOOK_ROTATION_HOURS), while the receiver switches."""
    commands.require(user, commands.Action.MANAGE_WEBHOOKS)
    row = webhooks.endpoint_for(session, user, webhook_id)
    secret = webhooks.rotate_secret(session, row, commands.rotation_overlap(settings))
    session.commit()
    return WebhookCreated(**webhook_out(row).model_dump(), secret=secret)


# -- the payload, in the OpenAPI document's `webhooks` section ------------------------------


class EventData(BaseModel):
    proposal_id: int | None
    seq: int | None = Field(description="The audit entry's sequence number in its proposal's chain: "
                                        "order by it, and a gap means an event you have not received")
    hash: str | None = Field(description="The audit entry's SHA-256 chain hash, as in an audit export")
    prev_hash: str | None = None
    kind: str | None = Field(None, description="The audit entry's kind")
    title: str | None = None
    actor: str | None = None
    party: str | None = None
    detail: dict = Field(default_factory=dict, description="The entry's detail, less what this organisation "
                                                           "may not see (another label's comments)")
    withheld: list[str] = Field(default_factory=list, description="Names of the detail left out")


class EventPayload(BaseModel):
    type: EntryEventType | Literal["webhook.test"]
    id: str = Field(description="The event's id, also the webhook-id header; the same on every retry")
    timestamp: datetime = Field(description="When the audit entry was written")
    version: int = Field(1, description="The payload's version")
    data: EventData


class CheckpointEventData(BaseModel):
    size: int = Field(description="The tree size: how many audit entries the checkpoint covers")
    root: str = Field(description="The Merkle tree's root hash, hex")
    time: str = Field(description="When it was signed, ISO 8601 UTC")
    signature: str = Field(description="Ed25519 over the checkpoint's text (docs/checkpoints.md), base64")
    key_id: str = Field(description="The log's signing key's id")


class CheckpointEventPayload(BaseModel):
    type: Literal["checkpoint.signed"]
    id: str = Field(description="ckpt_<size>: the same for every organisation and on every retry")
    timestamp: datetime = Field(description="When the checkpoint was signed")
    version: int = Field(1, description="The payload's version")
    data: CheckpointEventData


def install(app) -> None:
    """The JSON routes, the pages, and the payload documented under the OpenAPI `webhooks`."""
    from api.routes import webhook_pages

    app.include_router(router, prefix="/api/v1")
    app.include_router(webhook_pages.router)

    @app.webhooks.post("countersign-event", summary="An event, POSTed to each subscribed endpoint",
                       description=PAYLOAD_DOC)
    def countersign_event(body: EventPayload) -> None:
        """The payload of every event about a proposal or grant (docs/webhooks.md)."""

    @app.webhooks.post("countersign-checkpoint", summary="A signed checkpoint of the audit log, to every "
                       "organisation's endpoints subscribed to checkpoint.signed")
    def countersign_checkpoint(body: CheckpointEventPayload) -> None:
        """Keep it: `countersign audit verify --checkpoint` proves the log still extends it (docs/checkpoints.md)."""


PAYLOAD_DOC = (
    "Every event is POSTed as this JSON to each subscribed endpoint, signed with the Standard Webhooks "
    "headers `webhook-id`, `webhook-timestamp` and `webhook-signature` (HMAC-SHA256 with the endpoint's "
    "secret; during a rotation two signatures, space-separated). Answer 2xx within the timeout (10 s by "
    "default); 410 Gone disables the endpoint. Deliveries to one endpoint go one at a time, in order: a "
    "proposal's events arrive in `data.seq` order. Types: " + ", ".join(sorted(SUBSCRIBABLE)) + "."
)
