"""Consent after approval: per-party grants, their obligations, and the check.

`Consent` is the state of an approved proposal's grants, as `Review` is the
state of its sign-off: deterministic methods that take the time as an
argument, change the state and return the `Event`s that happened; `check_*`
methods raise without changing anything, for the workflow's validators.
`check_grant` answers the product's runtime from a stored grant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from countersign.domain import calendar
from countersign.domain.errors import GrantRefused, NotFound
from countersign.domain.policy import GrantPolicy, Policy
from countersign.domain.routing import SCOPES, Event, Review

# SCOPES: launch scopes, narrowest first; a grant covers its own scope and those inside it.


class GrantState(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"


class ObligationState(StrEnum):
    OPEN = "open"  # waiting on the lead's evidence
    SUBMITTED = "submitted"  # waiting on the party to accept or return it
    ACCEPTED = "accepted"
    RETURNED = "returned"  # evidence returned; waiting on the lead again


LIVE = frozenset({GrantState.ACTIVE, GrantState.SUSPENDED})
WAITING_ON_LEAD = frozenset({ObligationState.OPEN, ObligationState.RETURNED})
ACTIONS = {"suspend": (GrantState.ACTIVE, GrantState.SUSPENDED),
           "resume": (GrantState.SUSPENDED, GrantState.ACTIVE),
           "revoke": (None, GrantState.REVOKED)}  # None: from any live state


@dataclass
class Grant:
    party: str  # the catalog it covers
    scope: str  # the launch scope approved
    markets: list[str]
    starts_at: datetime
    expires_at: datetime
    remind_at: datetime | None
    version: int  # the version approved
    state: GrantState = GrantState.ACTIVE
    reason: str | None = None  # of the last suspension or revocation


@dataclass
class EvidenceFile:
    """A file sent as evidence: what the audit chain commits to (its bytes are stored by SHA-256)."""

    name: str
    size: int
    content_type: str
    sha256: str

    def detail(self) -> dict[str, str]:
        return {"file_name": self.name, "file_size": str(self.size), "file_type": self.content_type,
                "file_sha256": self.sha256}


@dataclass
class Obligation:
    id: int  # 1, 2, ... within the proposal
    party: str
    text: str
    due_at: datetime
    state: ObligationState = ObligationState.OPEN
    evidence: str | None = None
    comment: str | None = None  # the party's, when it returned the evidence
    overdue: bool = False  # due passed while waiting on the lead (noticed once)
    evidence_file: EvidenceFile | None = None  # sent with the latest evidence


@dataclass
class Consent:
    policy: GrantPolicy
    grants: dict[str, Grant] = field(default_factory=dict)
    obligations: list[Obligation] = field(default_factory=list)

    @classmethod
    def issue(cls, review: Review, content: dict, policy: Policy, now: datetime) -> tuple[Consent, list[Event]]:
        """A grant for each approving party; its conditions become obligations."""
        rules = policy.grants
        approving = review.outcome_scope or [p for p in review.touched if p not in review.dropped]
        consent = cls(rules)
        events = []
        for party in approving:
            config = policy.parties[party]
            expires = calendar.after(now, rules.expires_after, config)
            remind = calendar.before(expires, rules.remind_before, config)
            consent.grants[party] = Grant(party, content.get("launch_scope", ""), list(content.get("markets") or []),
                                          now, expires, remind if now < remind < expires else None, review.version)
            events.append(Event("grant_issued", now, party, detail={
                "scope": consent.grants[party].scope, "markets": ",".join(consent.grants[party].markets),
                "expires_at": expires.isoformat(), "version": str(review.version)}))
        for condition in review.standing_conditions:
            if condition.party in consent.grants:
                due = calendar.after(now, rules.obligations_due, policy.parties[condition.party])
                obligation = Obligation(len(consent.obligations) + 1, condition.party, condition.text, due)
                consent.obligations.append(obligation)
                events.append(Event("obligation_set", now, condition.party, detail={
                    "obligation": str(obligation.id), "text": obligation.text, "due_at": due.isoformat()}))
        return consent, events

    @property
    def live(self) -> bool:
        """Whether anything can still change on its own or by a party's hand."""
        return any(g.state in LIVE for g in self.grants.values())

    # -- checks ------------------------------------------------------------

    def check_action(self, party: str, action: str, reason: str) -> None:
        if action not in ACTIONS:
            raise GrantRefused(f"{action!r} is not a grant action; use suspend, resume or revoke")
        grant = self.grants.get(party)
        if grant is None:
            raise NotFound(f"{party} holds no grant for this proposal")
        if not (reason or "").strip():
            raise GrantRefused(f"a reason is required to {action} a grant")
        before, _ = ACTIONS[action]
        if grant.state not in LIVE or (before is not None and grant.state != before):
            raise GrantRefused(f"{party}'s grant is {grant.state.value}; it cannot be {_past(action)}")

    def check_evidence(self, obligation_id: int) -> None:
        obligation = self._obligation(obligation_id)
        if obligation.state not in WAITING_ON_LEAD:
            raise GrantRefused(f"obligation {obligation_id} is {obligation.state.value}; no evidence is awaited")

    def check_review(self, obligation_id: int, party: str) -> None:
        obligation = self._obligation(obligation_id)
        if obligation.party != party:
            raise NotFound(f"obligation {obligation_id} is {obligation.party}'s to review")
        if obligation.state != ObligationState.SUBMITTED:
            raise GrantRefused(f"obligation {obligation_id} is {obligation.state.value}; there is no evidence to review")

    # -- changes -----------------------------------------------------------

    def act(self, party: str, action: str, reason: str, actor: str, now: datetime) -> list[Event]:
        """Suspend, resume or revoke `party`'s grant."""
        self.check_action(party, action, reason)
        grant = self.grants[party]
        grant.state = ACTIONS[action][1]
        grant.reason = reason.strip()
        return [Event(f"grant_{_past(action)}", now, party, actor, {"reason": grant.reason})]

    def submit_evidence(self, obligation_id: int, text: str, actor: str, now: datetime,
                        file: EvidenceFile | None = None) -> list[Event]:
        """Text, a file, or both; the file's name, size, type and SHA-256 go on the record."""
        self.check_evidence(obligation_id)
        if not (text or "").strip() and file is None:
            raise GrantRefused("write the evidence that meets the obligation, or attach a file with it")
        obligation = self._obligation(obligation_id)
        obligation.state, obligation.evidence = ObligationState.SUBMITTED, (text or "").strip()
        obligation.evidence_file = file
        detail = {"obligation": str(obligation_id), "evidence": obligation.evidence}
        return [Event("evidence_submitted", now, obligation.party, actor, detail | (file.detail() if file else {}))]

    def review_evidence(self, obligation_id: int, party: str, accept: bool, comment: str, actor: str,
                        now: datetime) -> list[Event]:
        self.check_review(obligation_id, party)
        if not accept and not (comment or "").strip():
            raise GrantRefused("say what the evidence lacks when returning it")
        obligation = self._obligation(obligation_id)
        obligation.state = ObligationState.ACCEPTED if accept else ObligationState.RETURNED
        obligation.comment = (comment or "").strip() or None
        return [Event("evidence_accepted" if accept else "evidence_returned", now, party, actor,
                      {"obligation": str(obligation_id), "comment": obligation.comment or ""})]

    def advance_clock(self, now: datetime) -> list[Event]:
        """Remind the lead before expiry, expire grants, notice overdue obligations."""
        events = []
        for grant in self.grants.values():
            if grant.state not in LIVE:
                continue
            if grant.remind_at is not None and grant.remind_at <= now < grant.expires_at:
                grant.remind_at = None
                events.append(Event("grant_expiry_reminded", now, grant.party,
                                    detail={"expires_at": grant.expires_at.isoformat()}))
            if grant.expires_at <= now:
                grant.state, grant.remind_at = GrantState.EXPIRED, None
                events.append(Event("grant_expired", now, grant.party, detail={}))
        for obligation in self.obligations:
            if not obligation.overdue and obligation.state in WAITING_ON_LEAD and obligation.due_at <= now:
                obligation.overdue = True
                events.append(Event("obligation_overdue", now, obligation.party, detail={
                    "obligation": str(obligation.id), "text": obligation.text, "due_at": obligation.due_at.isoformat(),
                    "denies": "true" if self.policy.deny_when_obligation_overdue else "false"}))
        return events

    def next_deadline(self) -> datetime | None:
        moments = []
        for grant in self.grants.values():
            if grant.state in LIVE:
                moments += [m for m in (grant.remind_at, grant.expires_at) if m is not None]
        moments += [o.due_at for o in self.obligations if not o.overdue and o.state in WAITING_ON_LEAD]
        return min(moments, default=None)

    def _obligation(self, obligation_id: int) -> Obligation:
        for obligation in self.obligations:
            if obligation.id == obligation_id:
                return obligation
        raise NotFound(f"this proposal has no obligation {obligation_id}")


def _past(action: str) -> str:
    return {"suspend": "suspended", "resume": "resumed", "revoke": "revoked"}[action]


def covers(granted: str, asked: str) -> bool:
    """Whether a grant for launch scope `granted` covers `asked`."""
    if granted not in SCOPES or asked not in SCOPES:
        return granted == asked
    return SCOPES.index(asked) <= SCOPES.index(granted)


@dataclass(frozen=True)
class CheckAnswer:
    allowed: bool
    reason: str  # granted, no_grant, expired, suspended, revoked, out_of_scope, obligation_overdue


def check_grant(state: str | None, scope: str | None, expires_at: datetime | None, asked_scope: str | None,
                overdue_obligation: bool, now: datetime) -> CheckAnswer:
    """The runtime's answer for one stored grant (None: there is none).
    Expiry reads the clock, not only the stored state: a grant is expired
    at its moment even before the workflow's timer has recorded it."""
    if state is None:
        return CheckAnswer(False, "no_grant")
    if state == GrantState.REVOKED:
        return CheckAnswer(False, "revoked")
    if state == GrantState.EXPIRED or (expires_at is not None and expires_at <= now):
        return CheckAnswer(False, "expired")
    if state == GrantState.SUSPENDED:
        return CheckAnswer(False, "suspended")
    if asked_scope and not covers(scope or "", asked_scope):
        return CheckAnswer(False, "out_of_scope")
    if overdue_obligation:
        return CheckAnswer(False, "obligation_overdue")
    return CheckAnswer(True, "granted")
