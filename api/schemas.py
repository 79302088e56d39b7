"""The JSON API's request and answer shapes (API.md)."""

# No `from __future__ import annotations`: the submit body's class is built
# per policy, and its annotations name the policy's parties at run time.

import functools
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveInt,
    StringConstraints,
)

from api.text_types import NO_NUL, IsoDate
from countersign.domain import addresses
from countersign.domain.policy import Policy
from countersign.domain.routing import Verdict


class LaunchScope(StrEnum):
    INTERNAL_SANDBOX = "internal_sandbox"
    PILOT = "pilot"
    BROAD_ROLLOUT = "broad_rollout"


LAUNCH_SCOPE_ALIASES = {"sandbox": "internal_sandbox", "internal": "internal_sandbox",
                        "pilot_market": "pilot", "broad": "broad_rollout", "rollout": "broad_rollout"}


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, pattern=NO_NUL)]


class Checklist(BaseModel):
    """The responsible-AI checklist (DESIGN.md); every answer is required."""

    model_config = ConfigDict(extra="forbid")
    agreements: Annotated[Text, StringConstraints(max_length=5000)]
    artist_choice: Annotated[Text, StringConstraints(max_length=5000)]
    compensation: Annotated[Text, StringConstraints(max_length=5000)]
    attribution: Annotated[Text, StringConstraints(max_length=5000)]
    safeguards: Annotated[Text, StringConstraints(max_length=5000)]


CHECKLIST_QUESTIONS = {
    "agreements": "Upfront agreements: which licences or agreements cover this use?",
    "artist_choice": "Artist choice: how do artists and rights holders opt in or out?",
    "compensation": "Compensation: how are rights holders and artists paid?",
    "attribution": "Artist-fan connection and credit: attribution and labelling of AI output?",
    "safeguards": "Safeguards: against impersonation, voice cloning and unauthorised copies?",
}


def _scope_alias(value: Any) -> Any:
    return LAUNCH_SCOPE_ALIASES.get(value, value) if isinstance(value, str) else value


class ProposalContent(BaseModel):
    """A proposal's content, as a version stores it and answers it. The
    body that submits it is `proposal_submit(policy)`, which checks more."""

    model_config = ConfigDict(extra="forbid")
    title: Annotated[Text, StringConstraints(max_length=200)]
    summary: Annotated[Text, StringConstraints(max_length=10000)]
    capability: Annotated[Text, StringConstraints(max_length=80)]
    parties: list[str]  # the keys of the parties whose catalogs it touches, in the policy's order
    data_sources: Annotated[Text, StringConstraints(max_length=5000)]
    launch_scope: Annotated[LaunchScope, BeforeValidator(_scope_alias)]
    requested_decision_date: IsoDate | None = None
    checklist: Checklist
    # Read by the policy's risk rules (countersign.domain.tiers).
    synthesises: list[Literal["voice", "likeness"]] = Field(
        default_factory=list, description="What of a real person the product synthesises, if anything.")
    user_uploads: bool = Field(False, description="Whether it takes recordings uploaded by users.")
    markets: list[Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]] = Field(
        default_factory=list, max_length=300, description="ISO country codes it launches in; none: unrestricted.")


def _not_in_the_past(value: date | None) -> date | None:
    if value is not None and value < datetime.now(UTC).date():
        raise ValueError("the requested decision date must be today or later")
    return value


def proposal_submit(policy: Policy) -> type[ProposalContent]:
    """The body of submit and resubmit under `policy`."""
    return _submit_body(tuple(policy.parties))


@functools.cache  # one class per set of parties: the app's routes and forms share it
def _submit_body(keys: tuple[str, ...]) -> type[ProposalContent]:
    """Its parties are the policy's (an enum in the OpenAPI schema), all of
    them by default, put in the policy's order."""

    def known(parties: Any) -> Any:
        if isinstance(parties, list):
            unknown = [p for p in parties if p not in keys]
            if unknown:
                raise ValueError(f"unknown parties: {', '.join(map(str, unknown))}; the policy's parties are {', '.join(keys)}")
        return parties

    def in_policy_order(parties: list[str]) -> list[str]:
        if not parties:
            raise ValueError("name at least one party whose catalog the product touches")
        return [p for p in keys if p in parties]  # no repeats

    Parties = Annotated[list[Literal[keys]], BeforeValidator(known), AfterValidator(in_policy_order),
                        Field(min_length=1, description="The parties whose catalogs the product touches; all if left out.")]

    class ProposalSubmit(ProposalContent):
        """A proposal as a lead submits it (the body of submit and resubmit)."""

        parties: Parties = Field(default_factory=lambda: list(keys))
        requested_decision_date: Annotated[IsoDate | None, AfterValidator(_not_in_the_past)] = None

    return ProposalSubmit


def resubmit_body(policy: Policy) -> type[ProposalContent]:
    """The body of resubmit: the submit body, whole, and the current version's files to leave out."""
    return _resubmit_body(tuple(policy.parties))


@functools.cache
def _resubmit_body(keys: tuple[str, ...]) -> type[ProposalContent]:
    class ProposalResubmit(_submit_body(keys)):
        """A new version. It carries the current version's files forward, except those in `remove_files`."""

        remove_files: Annotated[list[Annotated[int, Field(ge=1, le=2**31 - 1)]], Field(max_length=100)] = Field(
            default_factory=list, description="ids of the current version's files the new version leaves out")

    return ProposalResubmit


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Verdict
    comment: Annotated[str, StringConstraints(max_length=5000, pattern=NO_NUL)] = ""
    decision_id: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")] | None = None
    version: Annotated[PositiveInt, Field(le=2**31 - 1)] | None = None  # the version reviewed; refused once stale
    # The delegating rep's e-mail, when deciding under their delegation (countersign.storage.delegation).
    on_behalf_of: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254,
                                                   pattern=r"^[^@\s\x00]+@[^@\s\x00]+$"),
                            AfterValidator(addresses.checked)] | None = None
    # The signer's password, where the policy asks for it with API decisions (`reauthenticate = "password"`).
    password: Annotated[str, StringConstraints(max_length=1000, pattern=NO_NUL)] | None = Field(default=None, repr=False)


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(max_length=5000, pattern=NO_NUL)] = ""


class SignatureOut(BaseModel):
    """A decision's signature manifestation (countersign.domain.signature)."""

    name: str
    role: str
    party: str
    at: str  # ISO 8601 in the party's time zone, with its offset
    meaning: str


class PartyOut(BaseModel):
    state: str
    due_at: datetime | None = None
    # Set while the party's clock stands still for its open question (the policy's
    # pause_while_question_open): `due_at` moves on by the time it stays paused.
    paused_since: datetime | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None
    signature: SignatureOut | None = None  # the decision's, once the party decided


class ConditionOut(BaseModel):
    party: str
    text: str
    version: int
    acknowledged: bool


class RouteStageOut(BaseModel):
    name: str
    rule: str
    added_by: str  # "policy", or the risk rule whose tier added the stage
    rule_set_by: str
    due: str


class RouteOut(BaseModel):
    rules: list[str]  # the risk rules the proposal matched, highest tier first
    stages: list[RouteStageOut]


class GrantOut(BaseModel):
    state: Literal["active", "suspended", "revoked", "expired"]
    scope: str
    markets: list[str]
    starts_at: datetime
    expires_at: datetime
    version: int
    reason: str | None = None


class ObligationOut(BaseModel):
    id: int
    party: str
    text: str
    due_at: datetime
    state: str  # open, submitted, accepted, returned
    overdue: bool
    evidence: str | None = None
    comment: str | None = None


class ProposalOut(BaseModel):
    id: int
    title: str
    owner: str
    status: str
    version: int
    stage: str
    workflow_id: str
    capability: str
    parties: dict[str, PartyOut]
    conditions: list[ConditionOut]
    outcome_scope: list[str] | None
    tier: str | None = None
    route: RouteOut | None = None
    grants: dict[str, GrantOut] = Field(default_factory=dict)
    obligations: list[ObligationOut] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class VersionOut(BaseModel):
    proposal_id: int
    number: int
    submitted_by: str
    submitted_at: datetime
    content: ProposalContent
    # The ids of the version's files (GET .../files has them whole): a version carries the previous
    # one's forward, less those its resubmission removed; and the difference from the previous version.
    files: list[int] = []
    files_added: list[int] = []
    files_removed: list[int] = []


class PreviewStageOut(BaseModel):
    name: str
    rule: str
    parties: list[str]
    added_by: str
    rule_set_by: str
    due: str
    due_at: dict[str, datetime] | None  # per party, for the stage that opens at submission


class TierRuleOut(BaseModel):
    rule: str
    tier: str
    why: str


class PreviewOut(BaseModel):
    tier: str
    rules: list[TierRuleOut]
    stages: list[PreviewStageOut]
    submittable: bool
    reason: str | None


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000, pattern=NO_NUL)]


class EvidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000, pattern=NO_NUL)]


class EvidenceReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: Annotated[str, StringConstraints(max_length=5000, pattern=NO_NUL)] = ""


class GrantCheckOut(BaseModel):
    allowed: bool
    reason: Literal["granted", "no_grant", "expired", "suspended", "revoked", "out_of_scope", "obligation_overdue"]
    grant: dict | None
