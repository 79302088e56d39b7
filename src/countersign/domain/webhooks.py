"""Webhook events: which audit entries become which event, what each
organisation may receive of them, and the versioned payload (docs/webhooks.md).

Pure: the storage layer queues the payloads built here in the transaction
that writes the audit entries (workflows.activities), and the delivery
workflow signs and sends them.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from countersign.domain.errors import Unacceptable

class InvalidWebhook(Unacceptable):
    """An endpoint that cannot be registered as given (a 422 at the web edge)."""


PAYLOAD_VERSION = 1
SECRET_PREFIX = "whsec_"  # Standard Webhooks: the base64 of the key after this prefix

# Audit entry kind -> event type. A kind missing here sends no webhook; later
# issues add theirs (question asked, files, ...) as one line each.
EVENT_TYPES: Mapping[str, str] = {
    "submitted": "proposal.submitted",
    "routed": "proposal.stage_opened",
    "decided": "proposal.decided",
    "changes_requested": "proposal.changes_requested",
    "resubmitted": "proposal.resubmitted",
    "conditions_acknowledged": "proposal.conditions_acknowledged",
    "reminded": "proposal.reminder",
    "escalated": "proposal.escalation",
    "expired": "proposal.expired",
    "withdrawn": "proposal.withdrawn",
    "concluded": "proposal.concluded",
    "message": "proposal.message_posted",  # a question: proposal.question_asked (event_type)
    "file": "proposal.file_attached",
    "grant_issued": "grant.issued",
    "grant_suspended": "grant.suspended",
    "grant_resumed": "grant.resumed",
    "grant_revoked": "grant.revoked",
    "grant_expired": "grant.expired",
}
TEST_EVENT = "webhook.test"
QUESTION_ASKED = "proposal.question_asked"
# A signed checkpoint of the whole audit log: not an audit entry, and no proposal's,
# so every organisation's endpoints that subscribe get it (docs/checkpoints.md).
CHECKPOINT_SIGNED = "checkpoint.signed"
SUBSCRIBABLE = frozenset({*EVENT_TYPES.values(), QUESTION_ASKED, CHECKPOINT_SIGNED})

# What one organisation may not read of another's entries: a label's decision
# comment, and the text of its conditions, go to that label and the platform only.
PRIVATE_DETAIL = {"decided": ("comment",)}


class EndpointState:
    ACTIVE = "active"
    PAUSED = "paused"  # queued, not sent, until resumed
    DISABLED = "disabled"  # a 410 or too many failures: queued, never attempted, until re-enabled


class DeliveryState:
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # its endpoint was disabled on it


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def event_id(proposal_id: int, seq: int) -> str:
    """The same for every endpoint and every retry: a receiver deduplicates by it."""
    return f"evt_{proposal_id}_{seq}"


def may_receive(endpoint_party: str | None, proposal_parties: list[str]) -> bool:
    """A label's endpoint gets events of proposals touching its catalog; the platform's get all."""
    return endpoint_party is None or endpoint_party in proposal_parties


def visible_detail(kind: str, entry_party: str | None, detail: dict, endpoint_party: str | None) -> tuple[dict, list]:
    """The entry's detail as `endpoint_party` may see it, and the names of what was left out."""
    if endpoint_party is None or entry_party == endpoint_party:
        return dict(detail), []
    hidden = [name for name in PRIVATE_DETAIL.get(kind, ()) if name in detail]
    shown = {key: value for key, value in detail.items() if key not in hidden}
    if kind == "conditions_acknowledged" and "conditions" in detail:
        # one line per label's condition, "party: text": only the endpoint's own
        own = [line for line in str(detail["conditions"]).split("\n") if line.startswith(f"{endpoint_party}: ")]
        shown["conditions"] = "\n".join(own)
        hidden.append("conditions (other labels')")
    return shown, hidden


def event_type(kind: str, detail: dict) -> str:
    """The event an audit entry of `kind` is (EVENT_TYPES), a message that asks a question apart."""
    return QUESTION_ASKED if kind == "message" and detail.get("question") else EVENT_TYPES[kind]


def payload(kind: str, proposal_id: int, seq: int, entry_hash: str, prev_hash: str, at: datetime,
            actor: str | None, party: str | None, detail: dict, endpoint_party: str | None,
            title: str | None = None) -> dict[str, Any]:
    """The event as `endpoint_party` (None: the platform) receives it. `seq` and `hash` are
    the audit entry's: a receiver orders by seq, sees gaps, and checks each against an export."""
    shown, hidden = visible_detail(kind, party, detail, endpoint_party)
    return {
        "type": event_type(kind, detail),
        "id": event_id(proposal_id, seq),
        "timestamp": at.isoformat(),
        "version": PAYLOAD_VERSION,
        "data": {
            "proposal_id": proposal_id,
            "seq": seq,
            "hash": entry_hash,
            "prev_hash": prev_hash,
            "kind": kind,
            "title": title,
            "actor": actor,
            "party": party,
            "detail": shown,
            "withheld": hidden,  # names of detail this organisation may not see (the hash covers them)
        },
    }


def checkpoint_payload(checkpoint: dict[str, Any], at: datetime) -> dict[str, Any]:
    """A signed checkpoint as every organisation receives it: `checkpoint` is its JSON
    (domain.checkpoint.SignedCheckpoint.as_json), of which the signed fields go out, nothing
    of any proposal. Its id names the size: one event per checkpoint, whoever receives it."""
    return {"type": CHECKPOINT_SIGNED, "id": f"ckpt_{checkpoint['size']}", "timestamp": at.isoformat(),
            "version": PAYLOAD_VERSION,
            "data": {name: checkpoint[name] for name in ("size", "root", "time", "signature", "key_id")}}


def test_payload(message_id: str, at: datetime, endpoint_id: int) -> dict[str, Any]:
    return {"type": TEST_EVENT, "id": message_id, "timestamp": at.isoformat(), "version": PAYLOAD_VERSION,
            "data": {"proposal_id": None, "seq": None, "hash": None, "endpoint_id": endpoint_id,
                     "message": "A test event from Countersign."}}
