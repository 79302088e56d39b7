"""What the top of a proposal page answers first: where it is, who it waits
on, and what the viewer can do about it (issue 25). Pure: built from what the
page already read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from api.schemas import ProposalOut
from countersign.domain.routing import Status
from countersign.storage import queries
from countersign.storage.tables import Proposal


@dataclass(frozen=True)
class Summary:
    waiting_on: list[tuple[str, datetime | None]] = field(default_factory=list)  # (party, due) soonest first
    held_by_conditions: bool = False  # every stage passed; only the owner's acknowledgement is missing
    owner_to_resubmit: bool = False
    withdrawn_reason: str | None = None
    withdrawn_by: str | None = None


def summarise(session: Session, proposal: Proposal, public: ProposalOut, upcoming: list[str],
              open_conditions: list) -> Summary:
    status = Status(proposal.status)
    pending = sorted(((party, row.due_at) for party, row in public.parties.items() if row.state == "pending"),
                     key=lambda item: (item[1] is None, item[1] or datetime.max))
    withdrawn = None
    if status == Status.WITHDRAWN:
        withdrawn = next(iter(queries.audit_entries(session, proposal.id, ("withdrawn",))), None)
    return Summary(
        waiting_on=pending if status == Status.IN_REVIEW else [],
        held_by_conditions=status == Status.IN_REVIEW and not pending and not upcoming and bool(open_conditions),
        owner_to_resubmit=status == Status.CHANGES_REQUESTED,
        withdrawn_reason=((withdrawn.detail or {}).get("reason") or None) if withdrawn else None,
        withdrawn_by=withdrawn.actor if withdrawn else None,
    )
