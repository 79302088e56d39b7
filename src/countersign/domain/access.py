"""Who may do what: one authorization matrix for the pages and the JSON API.

`can(user, action, proposal)` answers for a role, party, action and
proposal state; `visible` says whether a proposal's existence may be shown
at all (when it may not, callers answer 404, not 403).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from countersign.domain.errors import Forbidden, NotFound
from countersign.domain.routing import FINAL_STATUSES, Status


class Role(StrEnum):
    LEAD = "lead"
    REP = "rep"
    COMPLIANCE = "compliance"
    ADMIN = "admin"
    PARTY_ADMIN = "party_admin"  # one party's admin: manages that party's webhooks, sees no proposal


class User(Protocol):
    """Who acts: what the rules read of a stored user."""

    id: int | None
    role: str
    party: str | None


class Proposal(Protocol):
    """What the rules read of a stored proposal (or of a row with these columns)."""

    owner_id: int
    parties: list[str]
    pending: list[str]
    status: str


class Action(StrEnum):
    SUBMIT = "submit"
    VIEW = "view"
    DECIDE = "decide"
    RESUBMIT = "resubmit"
    WIDEN = "widen"  # a new version of an approved proposal, for a wider launch scope (its grants run on)
    WITHDRAW = "withdraw"
    ACKNOWLEDGE = "acknowledge"
    AUDIT = "audit"
    INBOX = "inbox"
    MANAGE_ACCOUNTS = "manage_accounts"
    READ_OUTBOX = "read_outbox"
    READ_HEALTH = "read_health"  # the parts `up` supervises, their restarts and errors
    MANAGE_WEBHOOKS = "manage_webhooks"  # admins: any organisation's; party admins: their own party's


def visible(user: User, proposal: Proposal) -> bool:
    if user.role in (Role.COMPLIANCE, Role.ADMIN):
        return True
    if user.role == Role.LEAD:
        return proposal.owner_id == user.id
    if user.role == Role.REP:
        return user.party in proposal.parties
    return False


def can(user: User, action: Action, proposal: Proposal | None = None) -> bool:
    """Whether `user` may take `action` (on `proposal`, for per-proposal actions)."""
    role = Role(user.role)
    if action == Action.SUBMIT:
        return role == Role.LEAD
    if action == Action.INBOX:
        return role == Role.REP
    if action in (Action.MANAGE_ACCOUNTS, Action.READ_OUTBOX, Action.READ_HEALTH):
        return role == Role.ADMIN
    if action == Action.MANAGE_WEBHOOKS:
        return role in (Role.ADMIN, Role.PARTY_ADMIN)
    if proposal is None or not visible(user, proposal):
        return False
    status = Status(proposal.status)
    if action == Action.VIEW:
        return True
    if action == Action.AUDIT:
        return role in (Role.COMPLIANCE, Role.ADMIN)
    if action == Action.DECIDE:
        return role == Role.REP and user.party in proposal.pending and status == Status.IN_REVIEW
    owner = role == Role.LEAD and proposal.owner_id == user.id
    if action == Action.RESUBMIT:
        return owner and status == Status.CHANGES_REQUESTED
    if action == Action.WIDEN:
        return owner and status in (Status.APPROVED, Status.APPROVED_PARTIAL)
    if action == Action.WITHDRAW:
        return owner and status not in FINAL_STATUSES
    if action == Action.ACKNOWLEDGE:
        return owner and status == Status.IN_REVIEW
    return False


_ROLES_FOR = {
    Action.DECIDE: {Role.REP},
    Action.RESUBMIT: {Role.LEAD},
    Action.WIDEN: {Role.LEAD},
    Action.WITHDRAW: {Role.LEAD},
    Action.ACKNOWLEDGE: {Role.LEAD},
    Action.AUDIT: {Role.COMPLIANCE, Role.ADMIN},
    Action.SUBMIT: {Role.LEAD},
    Action.INBOX: {Role.REP},
    Action.MANAGE_ACCOUNTS: {Role.ADMIN},
    Action.READ_OUTBOX: {Role.ADMIN},
    Action.READ_HEALTH: {Role.ADMIN},
    Action.MANAGE_WEBHOOKS: {Role.ADMIN, Role.PARTY_ADMIN},
}


def require(user: User, action: Action, proposal: Proposal | None = None) -> None:
    """Raise unless `user`'s role may take `action` on `proposal` at all.

    A proposal the user may not see is NotFound (its existence is private);
    a role that never takes the action is Forbidden. Whether the proposal's
    current state allows the action is the workflow's to say (409).
    """
    if proposal is not None and not visible(user, proposal):
        raise NotFound("no such proposal")
    roles = _ROLES_FOR.get(action)
    if roles is not None and Role(user.role) not in roles:
        raise Forbidden(f"a {user.role} cannot {action.value.replace('_', ' ')}")
