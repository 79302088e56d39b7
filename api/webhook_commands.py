"""What the webhook routes (JSON and pages) share: who may act for which
organisation, the checks on a new endpoint, and waking its delivery workflow.

A platform admin manages any organisation's endpoints (and the platform's,
`party` None); a party admin manages their own party's only. An endpoint
the caller may not manage is not there for them (404).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlsplit

from sqlmodel import Session
from temporalio.client import Client

from countersign.domain.access import Action, Role, require  # noqa: F401  (routes use both)
from countersign.domain.errors import Forbidden
from countersign.domain.webhooks import SUBSCRIBABLE, InvalidWebhook
from countersign.settings import Settings
from countersign.storage import webhooks
from countersign.storage.tables import User
from countersign.storage.webhook_tables import WebhookEndpoint
from workflows.webhook_delivery import WebhookWaker

log = logging.getLogger(__name__)


def owning_party(user: User, party: str | None, parties: list[str]) -> str | None:
    """The organisation a new endpoint belongs to: a party admin's own party; for an
    admin, the named party or (none named) the platform."""
    require(user, Action.MANAGE_WEBHOOKS)
    if party is not None and party not in parties:
        raise InvalidWebhook(f"party must be one of the policy's parties: {', '.join(parties)}")
    if user.role == Role.PARTY_ADMIN:
        if party not in (None, user.party):
            raise Forbidden("a party admin manages their own party's webhooks only")
        return user.party
    return party


def check_endpoint(url: str, events: list[str]) -> tuple[str, list[str]]:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidWebhook("the URL must be an absolute http:// or https:// address, such as "
                           "https://hooks.example.com/countersign")
    if parts.username or parts.password:
        raise InvalidWebhook("put no user name or password in the URL: verify the signature instead")
    unknown = sorted(set(events) - SUBSCRIBABLE)
    if unknown:
        raise InvalidWebhook(f"unknown event type(s) {', '.join(unknown)}; choose from {', '.join(sorted(SUBSCRIBABLE))}")
    if not events:
        raise InvalidWebhook("choose at least one event type")
    return url, sorted(set(events))


def create(session: Session, user: User, url: str, events: list[str], party: str | None,
           parties: list[str], description: str | None = None) -> WebhookEndpoint:
    owner = owning_party(user, party, parties)
    url, events = check_endpoint(url, events)
    return webhooks.create_endpoint(session, user.email, owner, url, events, description)


def rotation_overlap(settings: Settings) -> timedelta:
    return timedelta(hours=settings.webhook_rotation_hours)


async def wake(temporal: Client, settings: Settings, endpoint_id: int) -> None:
    """Start or signal the endpoint's delivery workflow. The delivery is stored already: a
    wake that fails is logged, and the endpoint's next wake sends it, in order."""
    try:
        await WebhookWaker(temporal, settings.task_queue).wake([endpoint_id])
    except Exception:
        log.exception("could not wake the deliveries of webhook %s", endpoint_id)
