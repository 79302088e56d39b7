"""The dataclasses that cross the workflow boundary: inputs, updates and
activity arguments. One dataclass per call, so fields can be added later
without breaking callers or recorded histories."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from countersign.policy import Policy
from countersign.routing import Event, Snapshot


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
class UpdateResult:
    status: str
    version: int


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
