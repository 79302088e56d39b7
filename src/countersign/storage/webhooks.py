"""Webhook endpoints, their queued deliveries and the log of attempts.

Deliveries are queued in the transaction that writes their audit entries
(`queue_for_entries`, from workflows.activities), so an event is queued if
and only if its entry is stored. The delivery workflow
(workflows.webhook_delivery) sends each endpoint's pending deliveries in id
order and logs every attempt here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, insert, update
from sqlmodel import Session, col, select

from countersign.domain import webhooks as hooks
from countersign.domain.access import Role
from countersign.domain.errors import NotFound
from countersign.domain.mail_text import one_line
from countersign.domain.webhooks import DeliveryState, EndpointState
from countersign.storage.tables import OutboxMail, User, utcnow
from countersign.storage.webhook_tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint

DISABLED_KIND = "webhook_disabled"  # the admins' mail when an endpoint is disabled
RESPONSE_EXCERPT = 500

ENDPOINT = WebhookEndpoint.__table__
# Endpoints that get a proposal's events: not deleted; paused and disabled ones
# queue too (sent on resume), so a receiver re-enabled later misses nothing.
_SUBSCRIBED = select(ENDPOINT.c.id, ENDPOINT.c.party, ENDPOINT.c.events, ENDPOINT.c.state).where(
    ENDPOINT.c.deleted_at.is_(None))
_INSERT_DELIVERY = insert(WebhookDelivery)


# -- queueing ---------------------------------------------------------------


def queue_for_entries(db: Connection, proposal_id: int, parties: list[str], title: str | None,
                      entries: Iterable[dict], now: datetime) -> list[int]:
    """Queue the entries' events for every endpoint that subscribed to them and may see the
    proposal, inside the caller's transaction; the active endpoints given work, to wake."""
    entries = [e for e in entries if e["kind"] in hooks.EVENT_TYPES]
    if not entries:
        return []
    rows, woken = [], set()
    for endpoint in db.execute(_SUBSCRIBED).all():
        if not hooks.may_receive(endpoint.party, parties):
            continue
        for entry in entries:
            event_type = hooks.event_type(entry["kind"], entry["detail"])
            if event_type not in endpoint.events:
                continue
            body = hooks.payload(entry["kind"], proposal_id, entry["seq"], entry["hash"], entry["prev_hash"],
                                 entry["at"], entry["actor"], entry["party"], entry["detail"], endpoint.party,
                                 title)
            rows.append(dict(endpoint_id=endpoint.id, message_id=body["id"], event_type=event_type,
                             proposal_id=proposal_id, seq=entry["seq"], payload=body,
                             state=DeliveryState.PENDING, attempts=0, created_at=now))
            if endpoint.state == EndpointState.ACTIVE:
                woken.add(endpoint.id)
    if rows:
        db.execute(_INSERT_DELIVERY, rows)
    return sorted(woken)


def queue_checkpoint(db: Connection, checkpoint: dict, now: datetime) -> list[int]:
    """Queue a signed checkpoint (its JSON) for every endpoint subscribed to it, of every
    organisation, inside the caller's transaction (the one that stores the checkpoint);
    the active endpoints given work, to wake."""
    body = hooks.checkpoint_payload(checkpoint, now)
    endpoints = [e for e in db.execute(_SUBSCRIBED).all() if hooks.CHECKPOINT_SIGNED in e.events]
    if endpoints:
        db.execute(_INSERT_DELIVERY, [
            dict(endpoint_id=e.id, message_id=body["id"], event_type=hooks.CHECKPOINT_SIGNED, payload=body,
                 state=DeliveryState.PENDING, attempts=0, created_at=now) for e in endpoints])
    return [e.id for e in endpoints if e.state == EndpointState.ACTIVE]


def queue_test(session: Session, endpoint: WebhookEndpoint) -> WebhookDelivery:
    now = utcnow()
    message_id = f"test_{uuid.uuid4().hex}"
    delivery = WebhookDelivery(endpoint_id=endpoint.id, message_id=message_id, event_type=hooks.TEST_EVENT,
                               payload=hooks.test_payload(message_id, now, endpoint.id), created_at=now)
    session.add(delivery)
    session.flush()
    return delivery


def redeliver(session: Session, endpoint: WebhookEndpoint, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again: a new delivery of the same message (same id: receivers
    deduplicate), queued behind the endpoint's others."""
    original = session.get(WebhookDelivery, delivery_id)
    if original is None or original.endpoint_id != endpoint.id:
        raise NotFound("no such delivery for this webhook")
    again = WebhookDelivery(endpoint_id=endpoint.id, message_id=original.message_id,
                            event_type=original.event_type, proposal_id=original.proposal_id, seq=original.seq,
                            payload=original.payload, redelivery_of=original.id, created_at=utcnow())
    session.add(again)
    session.flush()
    return again


# -- endpoints ----------------------------------------------------------------


def manages(user: User, party: str | None) -> bool:
    """Whether `user` manages the webhooks of `party` (None: the platform's)."""
    if user.role == Role.ADMIN:
        return True
    return user.role == Role.PARTY_ADMIN and party is not None and user.party == party


def create_endpoint(session: Session, actor: str, party: str | None, url: str, events: list[str],
                    description: str | None = None) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(party=party, url=url, events=sorted(set(events)), description=description,
                               secret=hooks.new_secret(), created_by=actor, created_at=utcnow())
    session.add(endpoint)
    session.flush()
    return endpoint


def endpoints_for(session: Session, user: User) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).where(col(WebhookEndpoint.deleted_at).is_(None)).order_by(col(WebhookEndpoint.id))
    if user.role != Role.ADMIN:
        query = query.where(WebhookEndpoint.party == user.party)
    return [e for e in session.exec(query) if manages(user, e.party)]


def endpoint_for(session: Session, user: User, endpoint_id: int) -> WebhookEndpoint:
    """The endpoint, or NotFound: one `user` may not manage is not there for them."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.deleted_at is not None or not manages(user, endpoint.party):
        raise NotFound("no such webhook")
    return endpoint


def delete_endpoint(session: Session, endpoint: WebhookEndpoint) -> None:
    endpoint.deleted_at = utcnow()
    session.add(endpoint)


def set_state(session: Session, endpoint: WebhookEndpoint, state: str) -> None:
    """Pause, or resume (which re-enables a disabled endpoint: its queue is sent in order)."""
    endpoint.state = state
    if state == EndpointState.ACTIVE:
        endpoint.disabled_reason = None
    session.add(endpoint)


def rotate_secret(session: Session, endpoint: WebhookEndpoint, overlap: timedelta) -> str:
    """A new secret; the old one signs beside it for `overlap`, while receivers switch."""
    now = utcnow()
    endpoint.previous_secret, endpoint.previous_until = endpoint.secret, now + overlap
    endpoint.secret = hooks.new_secret()
    session.add(endpoint)
    return endpoint.secret


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous one during a rotation."""
    secrets = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_until and endpoint.previous_until > now:
        secrets.append(endpoint.previous_secret)
    return secrets


# -- the log -------------------------------------------------------------------


def deliveries(session: Session, endpoint_id: int, limit: int = 100) -> list[tuple[WebhookDelivery,
                                                                                   list[WebhookAttempt]]]:
    """The endpoint's deliveries, newest first, each with its attempts (newest first)."""
    rows = session.exec(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
                        .order_by(col(WebhookDelivery.id).desc()).limit(limit)).all()
    attempts: dict[int, list[WebhookAttempt]] = {row.id: [] for row in rows}
    if rows:
        for attempt in session.exec(select(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(list(attempts)))
                                    .order_by(col(WebhookAttempt.id).desc())):
            attempts[attempt.delivery_id].append(attempt)
    return [(row, attempts[row.id]) for row in rows]


# -- what the delivery workflow reads and writes ---------------------------------

_PENDING = (select(WebhookDelivery.id)
            .where(WebhookDelivery.endpoint_id == bindparam("endpoint_id"),
                   WebhookDelivery.state == DeliveryState.PENDING)
            .order_by(col(WebhookDelivery.id)).limit(bindparam("limit")))


def pending(session: Session, endpoint_id: int, limit: int) -> list[int]:
    """The next deliveries to send, oldest first; none unless the endpoint is active."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.deleted_at is not None or endpoint.state != EndpointState.ACTIVE:
        return []
    return list(session.exec(_PENDING, params={"endpoint_id": endpoint_id, "limit": limit}).all())


def record_attempt(session: Session, delivery: WebhookDelivery, at: datetime, status: int | None,
                   duration_ms: int, response: str | None, error: str | None, delivered: bool) -> None:
    session.add(WebhookAttempt(delivery_id=delivery.id, endpoint_id=delivery.endpoint_id, at=at, status=status,
                               duration_ms=duration_ms, response=(response or "")[:RESPONSE_EXCERPT] or None,
                               error=error[:RESPONSE_EXCERPT] if error else None))
    values = dict(attempts=WebhookDelivery.attempts + 1, last_status=status)
    if delivered:
        values |= dict(state=DeliveryState.DELIVERED, delivered_at=at)
    session.exec(update(WebhookDelivery).where(WebhookDelivery.id == delivery.id).values(**values))


def disable(session: Session, endpoint_id: int, delivery_id: int | None, reason: str, base_url: str) -> bool:
    """Disable the endpoint on this delivery (marked failed) and mail its organisation's
    admins; False when it was disabled, paused or deleted already (nothing to tell)."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if delivery_id is not None:
        session.exec(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id,
                                                   WebhookDelivery.state == DeliveryState.PENDING)
                     .values(state=DeliveryState.FAILED))
    if endpoint is None or endpoint.deleted_at is not None or endpoint.state != EndpointState.ACTIVE:
        return False
    endpoint.state, endpoint.disabled_reason = EndpointState.DISABLED, reason[:500]
    session.add(endpoint)
    now = utcnow()
    link = f"{base_url.rstrip('/')}/webhooks/{endpoint.id}"
    for admin in admins_of(session, endpoint.party):
        session.add(OutboxMail(
            kind=DISABLED_KIND, recipient=admin, subject=one_line(f"Webhook disabled: {endpoint.url}"),
            body=(f"Countersign disabled a webhook and will not send to it again until it is re-enabled.\n\n"
                  f"Endpoint: {endpoint.url}\nWhy: {reason[:500]}\n\n"
                  f"Its queue is kept. Its deliveries and the Resume button: {link}\n"),
            created_at=now, next_attempt_at=now))
    return True


def admins_of(session: Session, party: str | None) -> list[str]:
    """Who is told about an organisation's webhooks: its party admins, or the platform's admins
    (for the platform's endpoints, and for a party with no admin of its own)."""
    active = col(User.active).is_(True)
    if party is not None:
        own = session.exec(select(User.email).where(User.role == Role.PARTY_ADMIN, User.party == party, active)
                           .order_by(User.email)).all()
        if own:
            return list(own)
    return list(session.exec(select(User.email).where(User.role == Role.ADMIN, active).order_by(User.email)).all())


def endpoints_waiting(session: Session) -> list[int]:
    """Active endpoints with deliveries pending (for the sweep that wakes them)."""
    return list(session.exec(
        select(WebhookDelivery.endpoint_id).join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.state == DeliveryState.PENDING, WebhookEndpoint.state == EndpointState.ACTIVE,
               col(WebhookEndpoint.deleted_at).is_(None))
        .distinct().order_by(WebhookDelivery.endpoint_id)).all())
