"""The JSON API's request and answer shapes (API.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PositiveInt, StringConstraints, field_validator

from countersign.domain.policy import PARTY_KEYS
from countersign.domain.routing import Verdict


class LaunchScope(StrEnum):
    INTERNAL_SANDBOX = "internal_sandbox"
    PILOT = "pilot"
    BROAD_ROLLOUT = "broad_rollout"


LAUNCH_SCOPE_ALIASES = {"sandbox": "internal_sandbox", "internal": "internal_sandbox",
                        "pilot_market": "pilot", "broad": "broad_rollout", "rollout": "broad_rollout"}


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


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


class ProposalSubmit(BaseModel):
    """A proposal as a lead submits it (the body of submit and resubmit)."""

    model_config = ConfigDict(extra="forbid")
    title: Annotated[Text, StringConstraints(max_length=200)]
    summary: Annotated[Text, StringConstraints(max_length=10000)]
    capability: Annotated[Text, StringConstraints(max_length=80)]
    parties: list[str] = list(PARTY_KEYS)
    data_sources: Annotated[Text, StringConstraints(max_length=5000)]
    launch_scope: Annotated[LaunchScope, BeforeValidator(_scope_alias)]
    requested_decision_date: date | None = None
    checklist: Checklist

    @field_validator("parties")
    @classmethod
    def _known_parties(cls, parties: list[str]) -> list[str]:
        if not parties:
            raise ValueError("name at least one party whose catalog the product touches")
        unknown = [p for p in parties if p not in PARTY_KEYS]
        if unknown:
            raise ValueError(f"unknown parties {unknown}; choose from {', '.join(PARTY_KEYS)}")
        return [p for p in PARTY_KEYS if p in parties]  # canonical order, no repeats

    @field_validator("requested_decision_date")
    @classmethod
    def _not_in_the_past(cls, value: date | None) -> date | None:
        if value is not None and value < datetime.now(UTC).date():
            raise ValueError("the requested decision date must be today or later")
        return value


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Verdict
    comment: Annotated[str, StringConstraints(max_length=5000)] = ""
    decision_id: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")] | None = None
    version: PositiveInt | None = None  # the version reviewed; refused once it is stale
    # The delegating rep's e-mail, when deciding under their delegation (countersign.storage.delegation).
    on_behalf_of: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254,
                                                   pattern=r"^[^@\s\x00]+@[^@\s\x00]+$")] | None = None


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(max_length=5000)] = ""


class PartyOut(BaseModel):
    state: str
    due_at: datetime | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None


class ConditionOut(BaseModel):
    party: str
    text: str
    version: int
    acknowledged: bool


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
    created_at: datetime
    updated_at: datetime


class VersionOut(BaseModel):
    proposal_id: int
    number: int
    submitted_by: str
    submitted_at: datetime
    content: ProposalSubmit
