"""Webhooks: each organisation's endpoints, the deliveries queued for them
with the audit entries that caused them, and every attempt to send one
(countersign.storage.webhooks; docs/webhooks.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from countersign.storage.tables import _json, _ts


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoint"
    id: int | None = Field(default=None, primary_key=True)
    party: str | None = Field(default=None, max_length=40, index=True)  # None: the platform's own
    url: str = Field(max_length=2000)
    events: list[str] = _json(nullable=False)  # event types (countersign.domain.webhooks.SUBSCRIBABLE)
    description: str | None = Field(default=None, max_length=200)
    state: str = Field(default="active", max_length=20)  # active, paused, disabled
    disabled_reason: str | None = Field(default=None, max_length=500)
    # Standard Webhooks secrets; during a rotation the previous one signs too, until previous_until.
    secret: str = Field(max_length=100)
    previous_secret: str | None = Field(default=None, max_length=100)
    previous_until: datetime | None = _ts()
    created_by: str = Field(max_length=254)
    created_at: datetime = _ts(nullable=False)
    deleted_at: datetime | None = _ts()  # deleted: nothing queued or sent; its log stays


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint; sent in id order, one at a time, per endpoint."""

    __tablename__ = "webhook_delivery"
    # The delivery workflow reads an endpoint's pending deliveries in id order.
    __table_args__ = (Index("ix_webhook_delivery_endpoint_state_id", "endpoint_id", "state", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = Field(foreign_key="webhook_endpoint.id")
    message_id: str = Field(max_length=100)  # the webhook-id header and the payload's id
    event_type: str = Field(max_length=60)
    proposal_id: int | None = None
    seq: int | None = None  # the audit entry's
    payload: dict = _json(nullable=False)
    state: str = Field(default="pending", max_length=20)  # pending, delivered, failed
    attempts: int = 0
    last_status: int | None = None
    redelivery_of: int | None = None  # the delivery sent again
    created_at: datetime = _ts(nullable=False)
    delivered_at: datetime | None = _ts()


class WebhookAttempt(SQLModel, table=True):
    __tablename__ = "webhook_attempt"
    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="webhook_delivery.id", index=True)
    endpoint_id: int = Field(index=True)
    at: datetime = _ts(nullable=False)
    status: int | None = None  # the HTTP status; None: no answer (timeout, refused connection)
    duration_ms: int
    response: str | None = Field(default=None, max_length=500)  # the first 500 characters of the answer
    error: str | None = Field(default=None, max_length=500)
