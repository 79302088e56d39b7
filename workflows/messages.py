"""The dataclasses that cross the workflow boundary: inputs, updates and
activity arguments. One dataclass per call, so fields can be added later
without breaking callers or recorded histories."""

# No `from __future__ import annotations` here: the SDK's converter reads these
# dataclasses' field types (typing.get_type_hints) for every payload it decodes,
# and string annotations are compiled anew each time (docs/performance.md).

from dataclasses import dataclass, field
from datetime import datetime

from countersign.domain.grants import Consent, EvidenceFile
from countersign.domain.policy import Policy
from countersign.domain.routing import Event, Review, Snapshot
from countersign.domain.version_files import FileFacts


@dataclass
class ProposalInput:
    proposal_id: int
    owner: str  # the lead's e-mail
    content: dict  # a ProposalSubmit body, JSON-ready
    policy: Policy
    files: list[FileFacts] = field(default_factory=list)  # attached with version 1, their bytes stored already
    carried: "Carried | None" = None  # set when a run continues as new (defined below)



@dataclass
class DecisionRequest:
    party: str
    decision: str
    comment: str
    version: int
    actor: str
    on_behalf_of: str | None = None  # the delegating rep, when `actor` decides as their delegate
    # The signer as they sign (countersign.domain.signature): their printed name and role then, and
    # how they re-authenticated. Kept with the decision; a later change of account changes none of it.
    signer_name: str | None = None
    signer_role: str | None = None
    reauthenticated: str | None = None


@dataclass
class ResubmitRequest:
    actor: str
    content: dict
    files: list[FileFacts] = field(default_factory=list)  # attached with the new version
    remove_files: list[int] = field(default_factory=list)  # the current version's files it leaves out


@dataclass
class WithdrawRequest:
    actor: str
    reason: str = ""


@dataclass
class AcknowledgeRequest:
    actor: str


@dataclass
class GrantActionRequest:
    party: str
    action: str  # suspend, resume or revoke
    reason: str
    actor: str


@dataclass
class EvidenceRequest:
    obligation_id: int
    text: str
    actor: str
    file: EvidenceFile | None = None  # its bytes stored already, by SHA-256 (api.grant_commands)


@dataclass
class EvidenceReview:
    obligation_id: int
    party: str
    accept: bool
    comment: str
    actor: str


@dataclass
class QuestionSignal:
    """A question from `party` to the lead was asked (`open`) or answered: sent by the web app once
    the message is stored; under a stage that pauses for questions it stops or restarts the clock."""

    question_id: int  # the question's message id
    party: str | None
    open: bool


@dataclass
class UpdateResult:
    """What an update answers: the proposal's status and version once its
    step is stored (the web edge reads the rest back from the database)."""

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
    # Stored with the version, in its step's transaction (countersign.domain.version_files).
    files: list[FileFacts] = field(default_factory=list)
    remove_files: list[int] = field(default_factory=list)


@dataclass
class StepRecord:
    """Everything one workflow step changed, written in one transaction: the
    input of the `record_step` activity, kept in the history."""

    proposal_id: int
    step: int  # increases by one per record; a step stored already is not recorded again
    at: datetime  # workflow time of the step
    snapshot: Snapshot
    events: list[Event] = field(default_factory=list)
    created_by: str | None = None  # set on the first step only: store the proposal
    new_version: NewVersion | None = None
    decision: DecisionRecord | None = None
    consent: Consent | None = None  # the grants and obligations, once the proposal is approved


@dataclass
class Carried:
    """What a run of the grants' lifecycle hands to the run it continues as (workflow.continue_as_new)."""

    review: Review
    consent: Consent
    step: int  # the last step recorded: the new run goes on from the next
    stored: UpdateResult
