"""The dataclasses that cross the workflow boundary: inputs, updates and
activity arguments. One dataclass per call, so fields can be added later
without breaking callers or recorded histories."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from countersign.domain.policy import Policy
from countersign.domain.routing import Condition, Event, PartyView, Snapshot, current_parties


@dataclass
class ProposalInput:
    proposal_id: int
    owner: str  # the lead's e-mail
    content: dict  # a ProposalSubmit body, JSON-ready
    policy: Policy


@dataclass
class DecisionRequest:
    party: str
    decision: str
    comment: str
    version: int
    actor: str
    on_behalf_of: str | None = None  # the delegating rep, when `actor` decides as their delegate


@dataclass
class ResubmitRequest:
    actor: str
    content: dict


@dataclass
class WithdrawRequest:
    actor: str
    reason: str = ""


@dataclass
class AcknowledgeRequest:
    actor: str


@dataclass
class ProposalView:
    """The proposal as the API shows it (`countersign.storage.tables.ProposalOut`),
    as of the latest step stored: an update answers with it, so the web edge
    need not read the proposal back. The current parties only, not every
    stage: it is kept in the history with each update's outcome."""

    id: int
    title: str
    owner: str  # the lead's e-mail
    status: str
    version: int
    stage: str
    capability: str
    parties: list[PartyView]  # current_parties: in the proposal's party order
    conditions: list[Condition]
    outcome_scope: list[str] | None
    created_at: datetime  # the first step's time, as the read model's
    updated_at: datetime  # the latest step's time, as the read model's

    @classmethod
    def of(cls, input: ProposalInput, content: dict, snapshot: Snapshot, created_at: datetime,
           updated_at: datetime) -> ProposalView:
        """`content`: the latest version's, for its title and capability."""
        return cls(input.proposal_id, content["title"], input.owner, snapshot.status.value, snapshot.version,
                   snapshot.stage, content["capability"], current_parties(snapshot), snapshot.conditions,
                   snapshot.outcome_scope, created_at, updated_at)


@dataclass
class UpdateResult:
    status: str
    version: int
    # None in outcomes recorded before updates answered with it: Temporal
    # answers a repeated update id with its first outcome.
    view: ProposalView | None = None


@dataclass
class DecisionRecord:
    decision_id: str
    request: DecisionRequest
    stage: str


@dataclass
class NewVersion:
    number: int
    content: dict
    actor: str


@dataclass
class StepRecord:
    """Everything one workflow step changed, written in one transaction."""

    proposal_id: int
    step: int  # increases by one per record; a retried activity is applied once
    at: datetime  # workflow time of the step
    snapshot: Snapshot
    events: list[Event] = field(default_factory=list)
    created_by: str | None = None  # set on the first step only: store the proposal
    new_version: NewVersion | None = None
    decision: DecisionRecord | None = None


@dataclass
class StepReceipt:
    """What `record_step` returns, for its local activity's history marker to
    keep: the step as reconciliation reads it, without the read model's
    snapshot (most of a `StepRecord`'s size)."""

    proposal_id: int
    step: int
    at: datetime
    status: str
    version: int
    events: list[Event] = field(default_factory=list)
    decision: DecisionRecord | None = None

    @classmethod
    def of(cls, record: StepRecord) -> StepReceipt:
        return cls(record.proposal_id, record.step, record.at, record.snapshot.status.value,
                   record.snapshot.version, record.events, record.decision)
